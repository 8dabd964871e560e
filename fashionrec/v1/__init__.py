"""Code generated from protos/fashionrec/v1 by `make protos`; do not edit the *_pb2 files."""
