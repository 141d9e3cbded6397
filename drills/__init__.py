"""Scale-out drills: pollsvc instances behind HAProxy, PgBouncer in transaction mode, a streaming
replica and a Redis Cluster, all on loopback ports, started and stopped by the drills
themselves; faults injected under load and the counts checked against the ballots.

    python -m drills            # starts the topology, runs every drill, prints a table
"""
