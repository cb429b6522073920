"""Strict decoding against expat, a conforming XML 1.0 parser: the vectors, cut and spliced with
markup that is or is not well-formed, are never taken by omadm when expat refuses them."""
import random
import xml.parsers.expat

import omadm

SNIPPETS = [
    "]]>", "<!--", "-->", "--", "<!-- a -- b -->", "<!--->", "<?xml version='1.0'?>", "<?pi x?>", "<?XML x?>",
    "<?a:b x?>", "<!DOCTYPE x>", "<!DOCTYPE x [<!ENTITY e 'x'>]>", "<![CDATA[", "<![CDATA[x]]>", "<![CDATA[]]]]>",
    "&", "&amp;", "&#1;", "&#x9;", "&#xD800;", "&#0;", "&#x110000;", "&#65;", "&foo;", "<", ">", "'", '"', "=",
    "\x01", "\x0c", "\x7f", "\r", "\t", "\ufffe", "\u00e9", "<x>", "</x>", "<x/>", "<p:x/>", "<x:y/>", "<:x/>",
    "<1x/>", "<x 1a='1'/>", "<x a='1'b='2'/>", "<x a='1' a='2'/>", '<x a="<"/>', "<x a='&#1;'/>", "<x a='&foo;'/>",
    " xmlns='u'", " xmlns:p=''", " a='1'", " p:a='1'", "<x xmlns:p='u'><p:y/></x>", "<x xmlns:xmlns='u'/>",
]


def expat_takes(data: bytes) -> bool:
    parser = xml.parsers.expat.ParserCreate(namespace_separator=" ")
    try:
        parser.Parse(data, True)
        return True
    except (xml.parsers.expat.ExpatError, LookupError):
        return False


def omadm_takes(data: bytes) -> bool:
    try:
        omadm.decode(data)
        return True
    except omadm.Error:
        return False


def mutated(base: bytes, rnd: random.Random) -> bytes:
    b = bytearray(base)
    for _ in range(rnd.randint(1, 2)):
        at = rnd.randrange(len(b))
        r = rnd.random()
        if r < 0.6:
            b[at:at] = rnd.choice(SNIPPETS).encode()
        elif r < 0.8:
            # ASCII only: expat's name rules for other characters are XML 1.0's older ones.
            b[at:at] = bytes([rnd.randrange(0x80)])
        else:
            del b[at:at + rnd.randint(1, 3)]
    return bytes(b)


def test_strict_decoding_takes_nothing_expat_refuses(vectors):
    bases = [p.read_bytes() for p in sorted(vectors.glob("*/*.xml"))]
    bases = [b for b in bases if expat_takes(b) and omadm_takes(b)]
    assert len(bases) >= 10
    rnd = random.Random(7)
    taken = 0
    for _ in range(20000):
        data = mutated(rnd.choice(bases), rnd)
        if omadm_takes(data):
            taken += 1
            assert expat_takes(data), data
    assert taken > 500, "the mutations leave enough messages valid to compare"
