"""Local table versions: cleanup after a write keeps what a reader or another writer may still use."""

from __future__ import annotations

import subprocess
import sys

from hm_utils import io


def _versions(root) -> list[str]:
    return sorted(path.name for path in root.glob("v-*"))


def test_cleanup_keeps_the_current_and_replaced_versions_and_one_another_writer_is_creating(tmp_path):
    root = tmp_path / "table"
    for name in ("v-1", "v-2", "v-3", "v-4", "v-5"):
        (root / name).mkdir(parents=True)
        (root / name / "part-0.parquet").write_bytes(b"x")
    (root / ".v-5.writing").write_text("")  # left by a writer that died: nobody holds it
    writer = subprocess.Popen(  # another writer, still creating v-4
        [
            sys.executable,
            "-c",
            "import sys, time\nfrom pathlib import Path\nfrom hm_utils import io\n"
            f"with io._creating(Path({str(root / 'v-4')!r})):\n"
            "    print('creating', flush=True)\n    time.sleep(60)\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert writer.stdout.readline().strip() == "creating"
        io._remove_old_versions(root, keep={"v-3", "v-2"})  # v-3 is current, it replaced v-2
        assert _versions(root) == ["v-2", "v-3", "v-4"]
        assert not (root / ".v-5.writing").exists()
    finally:
        writer.kill()
        writer.wait()
    io._remove_old_versions(root, keep={"v-3", "v-2"})  # once its writer is gone, v-4 is an orphan
    assert _versions(root) == ["v-2", "v-3"]
    assert not list(root.glob(".v-*.writing"))
