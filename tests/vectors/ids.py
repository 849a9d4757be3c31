#!/usr/bin/env python3
"""Independent implementation of p2p-git's id formulas (docs/PROTOCOL.md), for cross-checks.

Reads lines from stdin and writes one answer line each:
  didkey <64-hex public key>            -> did:key:z...
  repoid <root-hex> <64-hex public key>  -> did:repo:z...
Only the standard library: base58btc written out here, SHA-256 from hashlib.
"""
import hashlib
import sys

ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def base58btc(data: bytes) -> str:
    n = int.from_bytes(data, "big")
    out = ""
    while n > 0:
        n, r = divmod(n, 58)
        out = ALPHABET[r] + out
    zeros = len(data) - len(data.lstrip(b"\0"))
    return "1" * zeros + out


def did_key(public_key: bytes) -> str:
    assert len(public_key) == 32
    return "did:key:z" + base58btc(bytes([0xED, 0x01]) + public_key)


def did_repo(root_commit: bytes, creator_key: bytes) -> str:
    digest = hashlib.sha256(root_commit + creator_key).digest()
    return "did:repo:z" + base58btc(bytes([0x12, 0x20]) + digest)


def main() -> None:
    for line in sys.stdin:
        parts = line.split()
        if not parts:
            continue
        if parts[0] == "didkey":
            print(did_key(bytes.fromhex(parts[1])))
        elif parts[0] == "repoid":
            print(did_repo(bytes.fromhex(parts[1]), bytes.fromhex(parts[2])))
        else:
            raise SystemExit("unknown request " + parts[0])


if __name__ == "__main__":
    main()
