# The twistd/twist plugin "stomp-listen".  Every twistd run imports every
# plugin module, so this one stays cheap: it names the service, and twistd
# imports stomp_twisted.tap (the options, the service, the client, the
# reactor) only when stomp-listen is asked for.  ServiceMaker comes from a
# module twistd has imported already.
from twisted.application.service import ServiceMaker

stomp_listen = ServiceMaker(
    "stomp-listen",
    "stomp_twisted.tap",
    "Subscribe to STOMP destinations and print messages",
    "stomp-listen",
)
