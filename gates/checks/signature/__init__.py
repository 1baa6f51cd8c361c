"""The signature gate: every image must carry a cosign / Sigstore signature a policy's authority accepts.

- `policy`: the `[signature]` policies, validated from TOML without heavy imports, then built into
  `gates.cosign.Authority` objects (keys loaded, regexps compiled) before anything runs.
- `discovery`: what the registry holds for a digest (the legacy `.sig` tag, cosign v3 bundles as OCI
  referrers), fetched lazily so a key-signed image costs three requests.
- `gate`: one result per image, concurrently, decided by `gates.cosign`.

Kept light: importing this package imports neither `requests`, `cryptography` nor `sigstore`.
"""

GATE = "signature"
