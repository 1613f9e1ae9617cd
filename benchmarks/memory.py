"""Peak resident memory of this process, for the benchmark scripts (no third-party imports: the
fast_gliner script runs it in its own virtual environment)."""

import resource


def peak_rss_mb() -> float:
    """VmHWM from /proc (MiB); ru_maxrss where /proc is missing."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
