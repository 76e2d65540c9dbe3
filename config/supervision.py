"""The status file that `runstack` keeps of its children, and its reading by /api/health.

The file lives in this host's DATA_DIR, so a web process reports the processes supervised on its
own host. No file (or one left by a supervisor that is gone) means nothing here is supervised by
`runstack` (gunicorn and qcluster started by systemd or Kubernetes, which watch them instead).
"""

import contextlib
import json
import os
from pathlib import Path

STATUS_FILE_NAME = "runstack.json"

STARTING = "starting"
RUNNING = "running"
RESTARTING = "restarting"  # exited, waiting for its backoff before the next start
FAILING = "failing"  # exited again and again within the crash-loop window; still retried


def status_path(data_dir: Path) -> Path:
    return Path(data_dir) / STATUS_FILE_NAME


def write_status(data_dir: Path, children: dict[str, dict]) -> None:
    """Replace the file atomically, so that a reader never sees half of it."""
    path = status_path(data_dir)
    partial = path.with_name(path.name + ".part")
    body = json.dumps({"supervisor_pid": os.getpid(), "children": children})
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(body)
    os.replace(partial, path)


def remove_status(data_dir: Path) -> None:
    status_path(data_dir).unlink(missing_ok=True)


def supervised_processes(data_dir: Path) -> dict[str, str] | None:
    """{child name: state} from a live supervisor on this host, or None when there is none."""
    try:
        status = json.loads(status_path(data_dir).read_text())
        pid = int(status["supervisor_pid"])
        children = status["children"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not _alive(pid):
        return None
    return {name: str(child.get("state")) for name, child in children.items()}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    # A zombie is a dead supervisor whose parent has not reaped it yet.
    with contextlib.suppress(OSError), open(f"/proc/{pid}/stat") as stat:
        return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    return True
