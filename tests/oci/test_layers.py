"""The layer reader against ordinary images, overlay semantics, and hostile tarballs."""

from __future__ import annotations

import contextlib
import gzip
import io
import zlib
from collections.abc import Iterator, Sequence

import pytest

from gates.oci.errors import LayerError
from gates.oci.layers import LayerLimits, LayerOpener, read_files
from gates.oci.streams import Readable
from tests.support.oci_images import (
    Entry,
    directory,
    file,
    hardlink,
    layer,
    opaque,
    symlink,
    tar_bytes,
    whiteout,
)

OS_RELEASE = 'ID=debian\nVERSION_ID="12"\n'


class Layers:
    """Openers over in-memory blobs that count how often each layer is opened."""

    def __init__(self, blobs: Sequence[bytes]) -> None:
        self.blobs = list(blobs)
        self.opened = [0] * len(blobs)

    def openers(self) -> list[LayerOpener]:
        return [self._opener(i) for i in range(len(self.blobs))]

    def _opener(self, i: int) -> LayerOpener:
        @contextlib.contextmanager
        def open_layer() -> Iterator[Readable]:
            self.opened[i] += 1
            yield io.BytesIO(self.blobs[i])

        return open_layer


def read(blobs: Sequence[bytes], *paths: str, limits: LayerLimits | None = None) -> dict[str, bytes]:
    found = read_files(Layers(blobs).openers(), paths, limits)
    return {k: v.data for k, v in found.items()}


def test_reads_a_file_from_gzip_and_plain_layers() -> None:
    gz = layer({"etc/os-release": OS_RELEASE, "etc/hostname": "x"})
    plain = layer({"etc/debian_version": "12.5\n"}, compress=False)
    assert read([gz, plain], "etc/os-release", "/etc/debian_version", "etc/missing") == {
        "etc/os-release": OS_RELEASE.encode(),
        "etc/debian_version": b"12.5\n",
    }


def test_requested_files_are_read_in_one_pass() -> None:
    layers = Layers([layer({"etc/os-release": OS_RELEASE}), layer({"etc/hostname": "h"})])
    assert set(read_files(layers.openers(), ["etc/os-release", "etc/hostname"])) == {
        "etc/os-release", "etc/hostname"}
    assert layers.opened == [1, 1]


def test_top_layer_wins() -> None:
    assert read([layer({"etc/os-release": "ID=old"}), layer({"etc/os-release": "ID=new"})],
                "etc/os-release") == {"etc/os-release": b"ID=new"}


def test_whiteout_removes_a_file_and_a_directory() -> None:
    base = layer({"etc/os-release": "ID=x", "var/lib/dpkg/status": "Package: a", "var/lib/dpkg/other": "o"})
    top = layer([whiteout("etc/os-release"), whiteout("var/lib/dpkg")])
    assert read([base, top], "etc/os-release", "var/lib/dpkg/status") == {}


def test_file_added_again_above_a_whiteout_is_visible() -> None:
    blobs = [layer({"etc/os-release": "ID=a"}), layer([whiteout("etc/os-release")]), layer({"etc/os-release": "ID=c"})]
    assert read(blobs, "etc/os-release") == {"etc/os-release": b"ID=c"}


def test_opaque_directory_hides_lower_content_but_keeps_its_own() -> None:
    base = layer({"var/lib/dpkg/status.d/libc": "Package: libc6", "var/lib/dpkg/status.d/old": "Package: old"})
    # the layer's own entry comes before the opaque marker: it must survive it
    top = layer([directory("var/lib/dpkg/status.d"), file("var/lib/dpkg/status.d/new", "Package: new"),
                 opaque("var/lib/dpkg/status.d")])
    assert read([base, top], "var/lib/dpkg/status.d/") == {"var/lib/dpkg/status.d/new": b"Package: new"}
    assert set(read([base], "var/lib/dpkg/status.d/")) == {
        "var/lib/dpkg/status.d/libc", "var/lib/dpkg/status.d/old"}


def test_symlinked_os_release_is_followed_across_layers() -> None:
    # Debian: etc/os-release -> ../usr/lib/os-release, the target in a lower layer
    blobs = [layer({"usr/lib/os-release": OS_RELEASE}), layer([symlink("etc/os-release", "../usr/lib/os-release")])]
    layers = Layers(blobs)
    found = read_files(layers.openers(), ["etc/os-release"])
    assert found["etc/os-release"].data == OS_RELEASE.encode()
    assert found["etc/os-release"].real_path == "usr/lib/os-release"
    assert layers.opened == [2, 1]  # the target was not requested, so its layer was read again


def test_absolute_symlink_and_symlinked_parent_directory() -> None:
    blobs = [layer([directory("usr/lib"), file("usr/lib/apk/db/installed", "P:musl"), symlink("lib", "usr/lib"),
                    symlink("etc/os-release", "/usr/lib/os-release"), file("usr/lib/os-release", "ID=alpine")])]
    assert read(blobs, "lib/apk/db/installed", "etc/os-release") == {
        "lib/apk/db/installed": b"P:musl", "etc/os-release": b"ID=alpine"}


def test_entry_under_a_symlinked_directory_lands_in_its_target() -> None:
    # merged /usr: a later layer writing lib/x writes usr/lib/x
    blobs = [layer([directory("usr/lib"), symlink("lib", "usr/lib")]), layer({"lib/os-release": "ID=merged"})]
    assert read(blobs, "usr/lib/os-release") == {"usr/lib/os-release": b"ID=merged"}


def test_symlink_escape_stays_inside_the_image() -> None:
    blobs = [layer([file("secret", "image's own file"),
                    symlink("etc/os-release", "../../../../../../secret"),
                    symlink("etc/passwd-link", "/../../etc/passwd")])]
    found = read(blobs, "etc/os-release", "etc/passwd-link")
    assert found == {"etc/os-release": b"image's own file"}  # resolved at the image root, never the host


def test_symlink_loop_is_an_error() -> None:
    blobs = [layer([symlink("etc/a", "b"), symlink("etc/b", "a")])]
    with pytest.raises(LayerError, match="too many symbolic links"):
        read(blobs, "etc/a")


def test_dotdot_entry_is_refused() -> None:
    blobs = [layer([file("etc/../../outside", "x")])]
    with pytest.raises(LayerError, match="outside the image root"):
        read(blobs, "outside")


def test_dotdot_inside_the_root_is_normalized() -> None:
    assert read([layer([file("./usr/../etc/os-release", "ID=n")])], "etc/os-release") == {"etc/os-release": b"ID=n"}


def test_absolute_entry_names_are_read_relative_to_the_root() -> None:
    assert read([layer([file("/etc/os-release", "ID=abs")])], "etc/os-release") == {"etc/os-release": b"ID=abs"}


def test_hard_link_inside_the_image_is_read() -> None:
    blobs = [layer([file("usr/lib/os-release", "ID=hl"), hardlink("etc/os-release", "usr/lib/os-release")])]
    assert read(blobs, "etc/os-release") == {"etc/os-release": b"ID=hl"}


def test_hard_link_escape_is_refused() -> None:
    blobs = [layer([hardlink("etc/os-release", "../../../etc/passwd")])]
    with pytest.raises(LayerError, match="hard link target"):
        read(blobs, "etc/os-release")


def test_hard_link_to_nothing_is_refused() -> None:
    with pytest.raises(LayerError, match="does not exist"):
        read([layer([hardlink("etc/os-release", "nowhere")])], "etc/os-release")


def test_gzip_bomb_is_stopped_at_the_cap() -> None:
    bomb = gzip.compress(tar_bytes([file("big", b"\0" * (8 * 1024 * 1024))]), mtime=0)
    assert len(bomb) < 64 * 1024
    with pytest.raises(LayerError, match="inflates to more than 1048576 bytes"):
        read([bomb], "etc/os-release", limits=LayerLimits(max_inflated_bytes=1024 * 1024))


def test_file_over_the_size_cap_is_an_error_not_a_partial_read() -> None:
    with pytest.raises(LayerError, match="over the cap"):
        read([layer({"etc/os-release": "x" * 5000})], "etc/os-release", limits=LayerLimits(max_file_bytes=4096))


@pytest.mark.parametrize("cut", [0.3, 0.7, 0.99])
def test_truncated_gzip_is_a_clear_error(cut: float) -> None:
    blob = layer([file("etc/os-release", OS_RELEASE), file("usr/bin/x", bytes(range(256)) * 400)])
    with pytest.raises(LayerError, match="truncated"):
        read([blob[: int(len(blob) * cut)]], "etc/os-release")


def test_truncated_plain_tar_is_a_clear_error() -> None:
    blob = tar_bytes([file("etc/os-release", OS_RELEASE), file("usr/bin/x", bytes(range(256)) * 400)])
    with pytest.raises(LayerError, match="truncated"):
        read([blob[:5000]], "etc/os-release")


def test_corrupt_gzip_is_a_clear_error() -> None:
    blob = bytearray(layer({"etc/os-release": OS_RELEASE * 50}))
    blob[20:40] = b"\xff" * 20
    with pytest.raises(LayerError, match=r"corrupt gzip|broken tar"):
        read([bytes(blob)], "etc/os-release")


def test_zstd_layers_are_refused_by_name() -> None:
    with pytest.raises(LayerError, match="zstd"):
        read([b"\x28\xb5\x2f\xfd" + b"\0" * 100], "etc/os-release")


def test_garbage_is_not_a_tar() -> None:
    with pytest.raises(LayerError, match="not a tar archive"):
        read([b"this is not a layer" * 100], "etc/os-release")


def test_empty_layers_are_fine() -> None:
    empty_gzip = gzip.compress(b"", mtime=0)
    assert read([b"", empty_gzip, layer({"etc/os-release": "ID=e"})], "etc/os-release") == {
        "etc/os-release": b"ID=e"}


def test_multi_member_gzip_is_read_whole() -> None:
    raw = tar_bytes({"etc/os-release": OS_RELEASE})
    compressor = zlib.compressobj(wbits=31)
    first = compressor.compress(raw[:700]) + compressor.flush()
    second = gzip.compress(raw[700:], mtime=0)
    assert read([first + second], "etc/os-release") == {"etc/os-release": OS_RELEASE.encode()}


@pytest.mark.parametrize("padding", [b"\0", b"\0" * 7, b"\0" * 70_000])
def test_nul_padding_after_the_last_gzip_member_is_read_past(padding: bytes) -> None:
    """Found by fuzz/layer_reader.py: NUL bytes after a gzip member spun the reader for ever."""
    blob = gzip.compress(tar_bytes({"etc/os-release": OS_RELEASE}), mtime=0) + padding
    assert read([blob], "etc/os-release") == {"etc/os-release": OS_RELEASE.encode()}


def test_nul_bytes_between_gzip_members_are_corrupt_data_not_a_hang() -> None:
    """Container runtimes' gzip readers refuse them too; padding is read past only after the last member."""
    raw = tar_bytes({"etc/os-release": OS_RELEASE})
    compressor = zlib.compressobj(wbits=31)
    first = compressor.compress(raw[:700]) + compressor.flush()
    with pytest.raises(LayerError, match="corrupt gzip data"):
        read([first + b"\0" * 512 + gzip.compress(raw[700:], mtime=0)], "etc/os-release")


def test_fifo_and_directories_are_not_files() -> None:
    blobs = [layer([Entry("etc/os-release", "fifo"), directory("etc/debian_version")])]
    assert read(blobs, "etc/os-release", "etc/debian_version") == {}


def test_an_empty_layer_holds_no_files() -> None:
    """An empty tar (only end-of-archive blocks) is a real layer (metadata-only build steps make them)."""
    from tests.support import oci_images as oi

    def opener(blob: bytes) -> LayerOpener:
        return lambda: contextlib.nullcontext(io.BytesIO(blob))

    found = read_files([opener(oi.layer({"etc/os-release": b"ID=x\n"})), opener(oi.layer({}))], ["etc/os-release"])
    assert found["etc/os-release"].data == b"ID=x\n"
