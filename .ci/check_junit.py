"""Checks the main job's JUnit output: one testsuite per scenario file, checks as testcases, no failures."""
import pathlib
import sys
import xml.etree.ElementTree as ET

junit, scenarios = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
root = ET.parse(junit).getroot()
suites = root.findall("testsuite") if root.tag == "testsuites" else [root]
expected = len(list(scenarios.glob("*.toml")))
cases = sum(len(s.findall("testcase")) for s in suites)
failures = sum(len(s.findall("testcase/failure")) + len(s.findall("testcase/error")) for s in suites)
print(f"junit: {len(suites)} suites (scenario files: {expected}), {cases} testcases, {failures} failures")
if len(suites) != expected or cases < 5 * expected or failures:
    sys.exit("junit.xml does not describe a complete passing run")
