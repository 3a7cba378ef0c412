"""A small web app: a greeting, and the container it runs in."""

import os
import socket

from flask import Flask

app = Flask(__name__)


@app.route("/")
def hello():
    return {"hello": "from a skiff-built image", "hostname": socket.gethostname()}


if __name__ == "__main__":
    # 0.0.0.0: a published port reaches the container's interface, not its loopback.
    app.run(host="0.0.0.0", port=int(os.environ.get("PORT", "8000")))
