/** Our ttrpc (containerd's RPC over unix sockets): server, client, framing, status codes. */
export { TtrpcClient, type CallOptions, type ConnectOptions } from './client';
export { TtrpcServer, type ServerLogger, type ServerOptions } from './server';
export { defineMethod, type CallContext, type MessageCodec, type MethodDefinition, type ServiceDefinition, type PeerInfo } from './service';
export { Code, TtrpcError, statusOfError } from './status';
export { NAMESPACE_KEY, metadataOf, metadataValue, type Metadata } from './metadata';
export { MESSAGE_LENGTH_MAX } from './frame';
