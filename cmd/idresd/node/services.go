package node

import "google.golang.org/grpc"

// GRPCServiceInfo returns every service registered on the node's gRPC
// server with its methods, keyed by full service name. Tests enumerate it
// to prove that each method is either public or needs a credential.
func (n *Node) GRPCServiceInfo() map[string]grpc.ServiceInfo { return n.grpc.GetServiceInfo() }
