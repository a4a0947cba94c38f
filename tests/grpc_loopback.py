"""Makes every gRPC server of the Python that imports it listen on loopback
only: Beam 2.77's worker pool and its runner's control, data, state and
logging servers ask for every interface ([::]). tests/portable_services.py
installs it as the sitecustomize of the workers' environment, where the job
service and the worker pool run; tests/test_beam_workarounds.py imports it
before its pipelines run.
"""

from grpc import _server

_add_insecure_port = _server._Server.add_insecure_port
ALL_INTERFACES = ('[::]:', '0.0.0.0:')


def add_insecure_port_on_loopback(self, address):
  for every in ALL_INTERFACES:
    if address.startswith(every):
      address = 'localhost:' + address[len(every):]
  return _add_insecure_port(self, address)


_server._Server.add_insecure_port = add_insecure_port_on_loopback
