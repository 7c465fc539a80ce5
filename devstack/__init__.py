"""The local stack: Kafka, Solr and Milvus as plain processes on 127.0.0.1, and Storm LocalCluster runs."""
