"""Reads a pumphil junit.xml the way CI systems do (junitparser) and prints what it found as JSON.

Usage: junit_consumer.py JUNIT_XML. Exit 3 when junitparser is not installed."""
import json
import sys

try:
    from junitparser import JUnitXml, Skipped, Failure, Error
except ImportError:
    sys.exit(3)

xml = JUnitXml.fromfile(sys.argv[1])
suites = []
for suite in xml:
    cases = []
    for case in suite:
        results = case.result
        kinds = [type(r).__name__.lower() for r in results]
        cases.append({
            "name": case.name,
            "classname": case.classname,
            "time": case.time,
            "results": kinds,
            "messages": [r.message for r in results],
        })
    suites.append({
        "name": suite.name,
        "tests": suite.tests,
        "failures": suite.failures,
        "errors": suite.errors,
        "skipped": suite.skipped,
        "time": suite.time,
        "timestamp": suite.timestamp,
        "hostname": suite.hostname,
        "properties": {p.name: p.value for p in suite.properties()},
        "cases": cases,
    })
print(json.dumps({"tests": xml.tests, "failures": xml.failures, "errors": xml.errors,
                  "skipped": xml.skipped, "suites": suites}))
