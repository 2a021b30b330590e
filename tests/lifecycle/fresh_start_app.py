"""The app gunicorn serves in test_fresh_start.py: NicePay on an embedded sandbox.

The database comes from ``NICEPAY_FRESH_DATABASE_URI``. Once NicePay is set up the
worker drops a file named after its pid in ``NICEPAY_FRESH_READY_DIR``, so the test
knows every worker got past table creation.
"""

from __future__ import annotations

import os
import pathlib

from flask import Flask

from flask_nicepay import NicePay

app = Flask(__name__)
app.config.update(
    NICEPAY_SANDBOX=True,
    NICEPAY_DATABASE_URI=os.environ["NICEPAY_FRESH_DATABASE_URI"],
)
NicePay(app)
pathlib.Path(os.environ["NICEPAY_FRESH_READY_DIR"], str(os.getpid())).touch()
