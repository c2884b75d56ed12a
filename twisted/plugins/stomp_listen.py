# twistd imports every plugin module on every run: this one only names the
# service, and twistd imports stomp_twisted.tap when stomp-listen is asked for.
from twisted.application.service import ServiceMaker

stomp_listen = ServiceMaker(
    "stomp-listen",
    "stomp_twisted.tap",
    "Subscribe to STOMP destinations and print the messages received",
    "stomp-listen",
)
