"""Running topologies on Storm: LocalCluster (development), Flux submission and Nimbus queries (clusters)."""
