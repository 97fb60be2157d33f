/// Control interfaces (FIFO, datagram, binrpc unix socket) and the RPC method registry.
public enum ControlPlaceholder {}
