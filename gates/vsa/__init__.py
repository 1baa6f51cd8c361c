"""Verification Summary Attestations (SLSA VSA v1): the image gates' verdict, signed, carried to the cluster.

A library beside the gates, knowing none of them by name:
- `statement`: the images a report passes (every result on the image passed, one digest) and the
  in-toto statement saying so; `policy`: the digest of the policy that judged them.
- `output`: `--output vsa=DIR`, one file per digest, named from the digest alone.
- `dsse`, `signing`, `keyless`: the statement as a DSSE envelope in a Sigstore bundle, signed with a
  cosign key or with the CI's OIDC identity (sigstore).
- `attach`: the bundle pushed as a cosign v3 referrer of the image; `attest`: `gates attest`.

Importing this package loads nothing heavy: cryptography, PyNaCl and sigstore only when signing.
"""
