"""``python tests/slow_cli.py ARGS``: the transzero CLI with a slow keyword encoder registered (``test-slow``).

For tests that kill a run mid-encoding: ``TZ_SLOW_SECONDS`` per item, and after every batch the
number of items encoded so far is written to ``$TZ_SLOW_COUNT`` (a file).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.conftest import KeywordEncoder  # noqa: E402  (registers test-keywords)
from transzero.encoders import register_encoder  # noqa: E402


class SlowKeywordEncoder(KeywordEncoder):
    def _encode(self, items: list[Any], batch_size: int, progress: Any) -> Any:
        out = []
        for start in range(0, len(items), 8):
            part = items[start : start + 8]
            time.sleep(float(os.environ.get("TZ_SLOW_SECONDS", "0")) * len(part))
            out.append(super()._encode(part, batch_size, progress))
            count = os.environ.get("TZ_SLOW_COUNT")
            if count:  # written whole: the test reads it while we run
                Path(count + ".tmp").write_text(str(self.items_encoded))
                os.replace(count + ".tmp", count)
        import numpy as np

        return np.concatenate(out) if out else np.zeros((0, self.dim), np.float32)


register_encoder("test-slow", modality="text", description="slow keyword encoder for kill tests")(
    lambda **kw: SlowKeywordEncoder(name="test-slow", **kw)
)

if __name__ == "__main__":
    from transzero.cli import main

    main(sys.argv[1:])
