#!/usr/bin/python3
"""Reference token ids from SentencePiece itself (Debian's python3-sentencepiece).

Usage: sentencepiece-reference.py SPIECE_MODEL < texts.json > ids.json
Reads a JSON array of strings on stdin and writes a JSON array with sp.encode(text) (ids, no
</s>) for each. tests/engine/real-tokenizer.test.ts compares engine/tokenizer.ts with it.
Run it with /usr/bin/python3: a pyenv python3 does not see Debian's packages.
"""
import json
import sys

import sentencepiece

if len(sys.argv) != 2:
    sys.exit(__doc__)
sp = sentencepiece.SentencePieceProcessor(model_file=sys.argv[1])
texts = json.load(sys.stdin)
json.dump(sp.encode(texts), sys.stdout, separators=(",", ":"))
