"""The base-image gate: age, base drift, approved bases, pinning, non-root, OS end of life, point-release
lag and package patch level of images in a registry, read without a Docker daemon.

- `options`: `[base-image]` / `[patch-level]` plus flags -> `BaseImageOptions`.
- `gate`: `scan(options)` -> one `Result` per image (every platform of an index inside it).
- `base`: which base an image was built on (annotations, else a Dockerfile) and what it is now.
- `contents`: OS release, packages and users read from the image's layers.
"""
