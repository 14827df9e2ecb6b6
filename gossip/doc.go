// Package gossip will be the node's Serf member: it announces committed
// revisions to the cluster and publishes each node's applied revision. It
// holds no code yet; see DESIGN.md.
package gossip
