"""The hostile-input corpus through Python: each case its exception, the session still usable."""

import pathlib
import subprocess
import sys

import pytest

import omadm

ERRORS = {"decode": omadm.DecodeError, "limit": omadm.LimitError, "protocol": omadm.ProtocolError,
          "auth": omadm.AuthError}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> pathlib.Path:
    out = tmp_path_factory.mktemp("hostile")
    script = pathlib.Path(__file__).resolve().parents[1] / "hostile" / "make_corpus.py"
    subprocess.run([sys.executable, str(script), str(out)], check=True)
    return out


def test_hostile_corpus(corpus):
    lines = (corpus / "manifest.tsv").read_text().splitlines()
    assert len(lines) >= 23
    for line in lines:
        name, target, expected = line.split("\t")
        data = (corpus / name).read_bytes()
        tree = omadm.MemoryTree({"./DevInfo/DevId": "IMEI:1"})

        if target == "decode":
            if expected == "ok":
                omadm.decode(data)
            else:
                with pytest.raises(ERRORS[expected]):
                    omadm.decode(data)
            continue

        def attempt():
            if target == "client":
                c = omadm.ClientSession("IMEI:1", "srv", "http://127.0.0.1/dm", tree)
                c.next_message()
                return c, lambda: c.receive(data)
            s = omadm.ServerSession("srv")
            return s, lambda: s.receive(data)

        session, go = attempt()
        if expected == "ok":
            go()
        else:
            with pytest.raises(ERRORS[expected]):
                go()
            assert session.state == "waiting", name
