#!/usr/bin/env python3
"""Writes a learning-events CSV of N rows (default 1,000,000) for the ingest benchmark.

Deterministic for a given seed; timestamps spread over 30 days, 20,000 users,
ten topics, sessions of about 25 events.
"""
import random
import sys
from datetime import datetime, timedelta, timezone

def main():
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    out = sys.stdout
    rnd = random.Random(7)
    topics = ["Vorfahrt", "Verkehrszeichen", "Überholen", "Geschwindigkeit", "Abstand",
              "Gefahrenlehre", "Umweltschutz", "Technik", "Persönliche Voraussetzungen",
              "Verhalten im Straßenverkehr"]
    start = datetime(2026, 10, 1, tzinfo=timezone.utc)
    span = 30 * 86400
    out.write("ts,user_id,session_id,kind,topic,correct,answer_ms,score\n")
    written = 0
    session = 0
    while written < rows:
        session += 1
        user = rnd.randrange(1, 20001)
        t = start + timedelta(seconds=rnd.randrange(span))
        n = min(rows - written, rnd.randrange(10, 40))
        for i in range(n):
            ts = (t + timedelta(seconds=20 * i)).strftime("%Y-%m-%dT%H:%M:%SZ")
            if i == 0:
                out.write(f"{ts},{user},{session},session_start,,,,\n")
            elif i == n - 1:
                out.write(f"{ts},{user},{session},session_end,,,,\n")
            elif i % 15 == 14:
                out.write(f"{ts},{user},{session},mock_test_completed,,,,{rnd.random():.3f}\n")
            else:
                topic = topics[rnd.randrange(len(topics))]
                correct = "true" if rnd.random() < 0.75 else "false"
                out.write(f"{ts},{user},{session},question_answered,{topic},{correct},{rnd.randrange(2000, 40000)},\n")
            written += 1

if __name__ == "__main__":
    main()
