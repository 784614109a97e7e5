"""Run jwst's Detector1Pipeline then Image2Pipeline on one uncal file, offline.

Every reference comes from the step parameters given (``override_<reftype>``, a path or
``N/A``); the CRDS client's look-ups are replaced by a refusal, so a run that finishes
looked nothing up and contacted no server, and CRDS parameter files are off.  The products
(rate, rateints, cal) go to the output folder; each step's wall seconds (and each
pipeline's) go to the report file as JSON.  It imports only jwst, so a process running it
measures jwst alone (``benchmarks/end_to_end.py`` times it).

    python benchmarks/jwst_offline.py CONFIG.json

CONFIG.json: ``{"uncal": path, "output": folder, "report": path, "crds_path": folder,
"steps": {step: {parameter: value}}}`` (the steps of both pipelines by their names).
"""
import json
import os
import sys
import time
from pathlib import Path


def refuse(parameters, reftypes, observatory):
    """Stands in for the CRDS look-up: nothing to look up is fine, anything else an error."""
    if reftypes:
        raise RuntimeError(f"a CRDS look-up of {list(reftypes)} was attempted: give it an override")
    return {}


def main(config_path):
    config = json.loads(Path(config_path).read_text())
    os.environ.update(CRDS_SERVER_URL="https://crds.offline.invalid", CRDS_PATH=config["crds_path"],
                      STPIPE_DISABLE_CRDS_STEPPARS="true")
    from stpipe import Step, crds_client

    crds_client.get_multiple_reference_paths = refuse
    crds_client.get_reference_file = lambda parameters, reftype, observatory: refuse(parameters, [reftype], observatory)
    crds_client.get_context_used = lambda observatory: "none (offline)"
    seconds, run = {}, Step.run

    def timed(self, *args):
        start = time.perf_counter()
        result = run(self, *args)
        seconds[self.name] = seconds.get(self.name, 0.0) + time.perf_counter() - start
        return result

    Step.run = timed
    from jwst.pipeline import Detector1Pipeline, Image2Pipeline

    def pipeline(cls):
        return cls(steps={k: v for k, v in config["steps"].items() if k in cls.step_defs},
                   output_dir=config["output"], save_results=True)

    rate = pipeline(Detector1Pipeline).run(config["uncal"])
    pipeline(Image2Pipeline).run(rate)
    Path(config["report"]).write_text(json.dumps(seconds))


if __name__ == "__main__":
    main(*sys.argv[1:])
