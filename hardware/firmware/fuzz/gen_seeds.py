#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_codec: one binary file per payload of Fixtures/payload/vectors.json.

Run from anywhere: python3 hardware/firmware/fuzz/gen_seeds.py

Files go to Fixtures/fuzz/c-codec/, named after the vector: case-NNN-<type>-<note>.bin for the encoder cases,
error-NN-<error>-<note>.bin for the malformed payloads. A payload equal to an earlier one is skipped. The
directory is emptied of *.bin first, so the corpus always matches the vectors.
"""
import json
import os
import re

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", "..", ".."))
SRC = os.path.join(ROOT, "Fixtures", "payload", "vectors.json")
DST = os.path.join(ROOT, "Fixtures", "fuzz", "c-codec")


def slug(text):
    s = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return s[:48].rstrip("-")


def main():
    with open(SRC) as f:
        vectors = json.load(f)
    named = []
    for i, case in enumerate(vectors["cases"]):
        parts = ["case-%03d" % i, case["message"]["type"], slug(case.get("note", ""))]
        named.append(("-".join(p for p in parts if p), case["hex"]))
    for i, err in enumerate(vectors["errors"]):
        parts = ["error-%02d" % i, err["error"], slug(err.get("note", ""))]
        named.append(("-".join(p for p in parts if p), err["hex"]))

    os.makedirs(DST, exist_ok=True)
    for name in os.listdir(DST):
        if name.endswith(".bin"):
            os.remove(os.path.join(DST, name))
    seen = set()
    written = 0
    for name, hexstr in named:
        if hexstr in seen:
            continue
        seen.add(hexstr)
        with open(os.path.join(DST, name + ".bin"), "wb") as f:
            f.write(bytes.fromhex(hexstr))
        written += 1
    print("wrote %d seed files to %s (%d duplicates skipped)" % (written, DST, len(named) - written))


if __name__ == "__main__":
    main()
