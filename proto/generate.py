"""Regenerate the Python stubs of ``proto/gridbot/v1/*.proto`` (reproducibly).

Run ``python -m proto.generate`` from the repository root after editing a ``.proto``; CI
runs :func:`generate` into a temporary directory and fails when the checked-in stubs
differ, so they are always current. The generator is the pinned ``grpcio-tools`` of the
``dev`` extra, which bundles its own ``protoc``: the same version gives the same bytes.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("proto/gridbot/v1/control.proto",)


def generate(out_dir: Path = ROOT) -> list[Path]:
    """Compile every source into ``out_dir`` (the repository root by default).

    Returns:
        The generated files.

    Raises:
        RuntimeError: protoc reported an error.
    """
    from grpc_tools import protoc  # the dev extra; not needed at run time

    include = str(Path(protoc.__file__).parent / "_proto")
    out_dir.mkdir(parents=True, exist_ok=True)
    for source in SOURCES:
        code = protoc.main(
            [
                "protoc",
                f"-I{ROOT}",
                f"-I{include}",
                f"--python_out={out_dir}",
                f"--pyi_out={out_dir}",
                f"--grpc_python_out={out_dir}",
                str(ROOT / source),
            ]
        )
        if code != 0:
            raise RuntimeError(f"protoc failed on {source} (exit {code})")
    generated: list[Path] = []
    for source in SOURCES:
        stem = source.removesuffix(".proto")
        for suffix in ("_pb2.py", "_pb2.pyi", "_pb2_grpc.py"):
            generated.append(out_dir / f"{stem}{suffix}")
    return generated


if __name__ == "__main__":
    for path in generate():
        sys.stdout.write(f"wrote {path.relative_to(ROOT)}\n")
