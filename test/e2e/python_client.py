"""A nodeward agent written against the .proto alone, in Python.

It uses stubs generated at test time from proto/nodeward/v1/agent.proto (grpc_tools.protoc)
and speaks AgentService.Connect over mTLS:

  1. As --node: Hello, then FindingBatch (sequence 1, one finding); waits for the Ack.
  2. As --node still (same certificate): a Hello that claims --other-node; the collector
     must end the call with PERMISSION_DENIED.

Prints one JSON object on stdout: {"ack": {...}, "otherNode": {"code": ..., "details": ...}}.
Exits 1 on anything unexpected, with the reason on stderr.
"""

import argparse
import json
import sys
import threading
import time


def parse_args():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--stubs", required=True, help="directory holding nodeward/v1/agent_pb2*.py")
    p.add_argument("--address", required=True, help="collector gRPC address, host:port")
    p.add_argument("--ca", required=True, help="CA certificate (PEM)")
    p.add_argument("--cert", required=True, help="agent client certificate (PEM)")
    p.add_argument("--key", required=True, help="agent client key (PEM)")
    p.add_argument("--node", required=True, help="the node the certificate names")
    p.add_argument("--other-node", required=True, help="a node the certificate does not name")
    p.add_argument("--subject", required=True, help="subject of the finding to send")
    p.add_argument("--epoch", default="python-epoch-1")
    p.add_argument("--timeout", type=float, default=20.0)
    return p.parse_args()


def read(path):
    with open(path, "rb") as f:
        return f.read()


def converse(stub, messages, timeout):
    """Sends messages on one Connect call, keeping the request side open until the first
    reply arrives (or the call ends). Returns the first CollectorMessage, or raises
    grpc.RpcError when the collector ends the call with a status."""
    first_reply = threading.Event()

    def requests():
        for m in messages:
            yield m
        first_reply.wait(timeout)

    responses = stub.Connect(requests(), timeout=timeout)
    try:
        for reply in responses:
            return reply
        return None
    finally:
        first_reply.set()
        responses.cancel()


def main():
    args = parse_args()
    sys.path.insert(0, args.stubs)
    import grpc
    from nodeward.v1 import agent_pb2 as pb
    from nodeward.v1 import agent_pb2_grpc as pb_grpc

    creds = grpc.ssl_channel_credentials(
        root_certificates=read(args.ca), private_key=read(args.key), certificate_chain=read(args.cert)
    )
    out = {}
    with grpc.secure_channel(args.address, creds) as channel:
        grpc.channel_ready_future(channel).result(timeout=args.timeout)
        stub = pb_grpc.AgentServiceStub(channel)

        def hello(node, epoch):
            return pb.AgentMessage(hello=pb.Hello(
                node=node,
                agent_version="python-contract-client",
                epoch=epoch,
                host=pb.HostInfo(os="Python Test OS", kernel="6.1.0-py", arch="x86_64", cpus=4, memory_bytes=2 << 30),
                stats=pb.AgentStats(exec_coverage="scan"),
            ))

        batch = pb.AgentMessage(finding_batch=pb.FindingBatch(
            sequence=1,
            node=args.node,
            findings=[pb.Finding(
                check_id="proc-unexpected",
                subject=args.subject,
                title="Unexpected process (from the Python client)",
                category="process",
                severity=pb.SEVERITY_CRITICAL,
                status=pb.STATUS_FAIL,
                observed_at_ms=int(time.time() * 1000),
                occurrences=3,
                seen="event",
                remediation="Nothing to do: this is a contract test.",
                detail_json=json.dumps({"pid": 4242, "client": "python"}),
            )],
        ))
        reply = converse(stub, [hello(args.node, args.epoch), batch], args.timeout)
        if reply is None or reply.WhichOneof("body") != "ack":
            print(f"expected an ack, got {reply!r}", file=sys.stderr)
            return 1
        out["ack"] = {
            "sequence": int(reply.ack.sequence),
            "duplicate": bool(reply.ack.duplicate),
            "code": int(reply.ack.code),
            "message": reply.ack.message,
        }

        try:
            reply = converse(stub, [hello(args.other_node, args.epoch + "-other")], args.timeout)
            print(f"a hello for {args.other_node} was not refused; got {reply!r}", file=sys.stderr)
            return 1
        except grpc.RpcError as err:
            out["otherNode"] = {"code": err.code().name, "details": err.details()}

    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
