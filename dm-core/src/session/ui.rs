//! User interaction alerts 1100–1104 (facts §3): item 1 holds the options (`MINDT=10&MAXDT=30&
//! DR=1&MAXLEN=20&IT=A&ET=T`), item 2 the text, items 3.. the choices, numbered from 1.

use crate::model::{AlertCode, Data, Item, StatusCode};

/// What the server asks the user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UiRequest {
    /// 1100 display, 1101 confirm or reject, 1102 text input, 1103 single, 1104 multiple choice.
    pub code: AlertCode,
    /// The options as sent, e.g. `MAXDT=30&DR=1`.
    pub options: String,
    /// The text shown to the user.
    pub text: String,
    /// The choices of 1103 and 1104, in order (choice 1 first).
    pub choices: Vec<String>,
}

impl UiRequest {
    pub(crate) fn parse(code: AlertCode, items: &[Item]) -> UiRequest {
        let text_of = |i: usize| match items.get(i).and_then(|it| it.data.as_ref()) {
            Some(Data::Text(s) | Data::Xml(s)) => s.clone(),
            Some(Data::Binary(b)) => String::from_utf8_lossy(b).into_owned(),
            None => String::new(),
        };
        UiRequest { code, options: text_of(0), text: text_of(1), choices: (2..items.len()).map(text_of).collect() }
    }

    /// One option's value (`DR`, `MAXDT`, ...).
    pub fn option(&self, name: &str) -> Option<&str> {
        self.options.split('&').filter_map(|kv| kv.split_once('=')).find(|(k, _)| *k == name).map(|(_, v)| v)
    }

    /// The answer of a user who takes the defaults: OK, yes, the default text (DR) or the
    /// default choices (DR, e.g. `1-3,6`), else the first choice.
    pub fn default_response(&self) -> UiResponse {
        match self.code {
            AlertCode::CONFIRM_OR_REJECT => UiResponse::Yes,
            AlertCode::TEXT_INPUT => UiResponse::Text(self.option("DR").unwrap_or_default().to_string()),
            AlertCode::SINGLE_CHOICE | AlertCode::MULTIPLE_CHOICE => {
                let n = self.choices.len();
                let mut picks: Vec<usize> = self.option("DR").map(|dr| parse_choices(dr, n)).unwrap_or_default();
                if picks.is_empty() && !self.choices.is_empty() {
                    picks.push(1);
                }
                if self.code == AlertCode::SINGLE_CHOICE {
                    picks.truncate(1);
                }
                UiResponse::Choices(picks)
            }
            _ => UiResponse::Ok,
        }
    }
}

/// The choices `s` names (`1-3,6`) among the `n` offered, each once, in ascending order: linear
/// in `s` and `n` whatever the ranges (a difference array of where ranges start and end).
fn parse_choices(s: &str, n: usize) -> Vec<usize> {
    let mut edges = vec![0i64; n + 2];
    for part in s.split(',') {
        let (a, b) = part.split_once('-').unwrap_or((part, part));
        if let (Ok(a), Ok(b)) = (a.trim().parse::<usize>(), b.trim().parse::<usize>()) {
            let (a, b) = (a.max(1), b.min(n));
            if a <= b {
                edges[a] += 1;
                edges[b + 1] -= 1;
            }
        }
    }
    let mut depth = 0;
    (1..=n)
        .filter(|&c| {
            depth += edges[c];
            depth > 0
        })
        .collect()
}

/// The user's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UiResponse {
    /// Display acknowledged.
    Ok,
    /// Confirmed.
    Yes,
    /// Rejected: status 304.
    No,
    /// The text the user entered.
    Text(String),
    /// Selected choices, numbered from 1.
    Choices(Vec<usize>),
    /// Cancelled by the user: status 214.
    Cancel,
    /// No answer in time: status 408.
    Timeout,
}

impl UiResponse {
    /// The Status code and the Status items that carry the answer; a text XML cannot carry
    /// (`codec::is_xml_text`) fails the alert (500), for it cannot be sent.
    pub(crate) fn status(&self) -> (StatusCode, Vec<Item>) {
        let item = |s: String| Item { data: Some(Data::Text(s)), ..Item::default() };
        match self {
            UiResponse::Ok | UiResponse::Yes => (StatusCode::OK, vec![]),
            UiResponse::No => (StatusCode::NOT_MODIFIED, vec![]),
            UiResponse::Text(t) if !crate::codec::is_xml_text(t) => (StatusCode::COMMAND_FAILED, vec![]),
            UiResponse::Text(t) => (StatusCode::OK, vec![item(t.clone())]),
            UiResponse::Choices(c) => (StatusCode::OK, c.iter().map(|n| item(n.to_string())).collect()),
            UiResponse::Cancel => (StatusCode::OPERATION_CANCELLED, vec![]),
            UiResponse::Timeout => (StatusCode::REQUEST_TIMEOUT, vec![]),
        }
    }
}

/// Answers UI alerts on the client.
pub type UiHandler = Box<dyn FnMut(&UiRequest) -> UiResponse + Send>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_choices_are_those_named_among_the_offered_each_once_in_order() {
        assert_eq!(parse_choices("1-3,6", 6), [1, 2, 3, 6]);
        assert_eq!(parse_choices("6, 2-3 ,3,2", 6), [2, 3, 6]);
        assert_eq!(parse_choices("0-2,5-99,x,3-1,-,", 6), [1, 2, 5, 6], "clamped; bad and empty ranges skipped");
        assert_eq!(parse_choices("7", 6), Vec::<usize>::new());
        assert_eq!(parse_choices("1-18446744073709551615", 2), [1, 2]);
        assert_eq!(parse_choices(&vec!["1-1000"; 100_000].join(","), 3), [1, 2, 3]);
    }
}
