"""Starts moto's AWS emulator for mrap-auditor's live-source tests (tests/aws_moto.rs).

Usage: python3 tests/support/moto_server.py [PORT]   (default 0: a free port)

It prints `PORT <n>` on stdout once the server accepts connections, and stops when its standard
input closes (so the emulator dies with the test that started it, even if the test is killed) or
on SIGTERM/SIGINT.

One fix is applied to moto, and nothing else: moto's REST-XML serializer names the root element
of an S3 Control response `<OperationName>Response`, while S3 Control (and the AWS SDK for Rust,
which checks it) uses `<OperationName>Result`, e.g. `ListMultiRegionAccessPointsResult`. Without the
fix every S3 Control call fails in the SDK with "invalid XML root". The patch renames that root
element for the `s3control` service only; error bodies (`<ErrorResponse>`) and every other service
are untouched. If moto's internals move, the patch fails loudly at start-up instead of serving
wrong answers.
"""

import signal
import sys
import threading


def patch_s3control_root_element():
    from moto.core import serialize

    serializer = getattr(serialize, "RestXMLSerializer", None)
    original = getattr(serializer, "_serialize_body", None)
    if serializer is None or original is None:
        raise SystemExit("moto_server.py: moto.core.serialize.RestXMLSerializer._serialize_body not found; "
                         "this moto version needs a new s3control patch")

    def serialize_body(self, body):
        model = getattr(self, "operation_model", None)
        service = getattr(getattr(model, "service_model", None), "service_name", None)
        if service == "s3control" and isinstance(body, dict) and len(body) == 1:
            wrong = f"{model.name}Response"
            if wrong in body:
                body = {f"{model.name}Result": body[wrong]}
        return original(self, body)

    serializer._serialize_body = serialize_body


def main():
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    patch_s3control_root_element()
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    _, bound = server.get_host_and_port()
    print(f"PORT {bound}", flush=True)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())

    def wait_for_stdin_eof():
        try:
            while sys.stdin.buffer.read(4096):
                pass
        finally:
            stop.set()

    threading.Thread(target=wait_for_stdin_eof, daemon=True).start()
    stop.wait()
    server.stop()


if __name__ == "__main__":
    main()
