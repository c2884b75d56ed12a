# Debian's stompserver 0.9.9 in the foreground, for scripts/brokers:
#   ruby scripts/stompserver/run.rb --host=127.0.0.1 --port=PORT --working_dir=DIR
# Debian's /usr/bin/stompserver fails on Ruby 3.1 ("class variable access from
# toplevel": it sets the protocol's class variables from a block at top level);
# this does the same through class_variable_set, and never daemonizes or
# changes user (no :daemon/:user/:group unless a stompserver.conf in the
# current directory sets them).
require 'etc'
require 'yaml'
require 'optparse'
require 'stomp_server'

$STOMP_SERVER = true   # stomp_server's queue manager checks it
$stdout.sync = true

EventMachine::run do
  config = StompServer::Configurator.new
  stomp = StompServer::Run.new(config.opts)
  stomp.start
  protocol = StompServer::Protocols::Stomp
  protocol.class_variable_set(:@@auth_required, stomp.auth_required)
  protocol.class_variable_set(:@@queue_manager, stomp.queue_manager)
  protocol.class_variable_set(:@@topic_manager, stomp.topic_manager)
  protocol.class_variable_set(:@@stompauth, stomp.stompauth)
  EventMachine.start_server(config.opts[:host], config.opts[:port], protocol)
  puts "Stomp protocol handler listening on #{config.opts[:host]} port #{config.opts[:port]}"
end
