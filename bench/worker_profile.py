"""ansible-playbook with every worker process measured: where a task's CPU time goes, per worker.

    python bench/worker_profile.py [--cprofile DIR] -- -i INVENTORY PLAYBOOK [ansible-playbook args]

Ansible forks a worker for every host and task; a lookup is loaded, and an action plugin's
imports are used, in that worker. This runs ansible-playbook in this interpreter with counters
around what a worker does (CPU time, medians over all workers), then prints them:

  worker                    the whole worker (WorkerProcess._run)
  lookup (load and run)     Ansible's _invoke_lookup: finding, loading and running the lookup
  module loading            PluginLoader._load_module_source: the plugin file and what it imports
  compiling from source     the collection loader's compile() of collection modules (no bytecode)
  reading bytecode          marshal.loads of __pycache__ files by Python's own loader
  option definitions        PluginLoader._load_config_defs: DOCUMENTATION and doc fragments as YAML
  finding the plugin        PluginLoader.find_plugin_with_context
  garbage collection        the collector's passes (gc.callbacks)
  action run                the run() of an identity.entra action plugin

With --cprofile DIR, each worker also writes a cProfile of its run to DIR/<pid>.prof (merge them
with pstats.Stats(*files)). Used to find where the warm lookup's time went (bench/README.md).
"""

import argparse
import cProfile
import gc
import importlib._bootstrap_external as bootstrap_external
import json
import marshal
import os
import statistics
import sys
import tempfile
import time

from ansible.executor.process import worker
from ansible.plugins import loader as plugin_loader
from ansible.utils.collection_loader import _collection_finder

COUNTERS = {}


def count(name, started):
    COUNTERS[name] = COUNTERS.get(name, 0.0) + time.process_time() - started


def counted(owner, attribute, name):
    original = getattr(owner, attribute)

    def wrapper(*args, **kwargs):
        started = time.process_time()
        try:
            return original(*args, **kwargs)
        finally:
            count(name, started)

    setattr(owner, attribute, wrapper)


class CountedMarshal:
    """importlib's marshal, counted: bytecode read from __pycache__."""

    dumps = staticmethod(marshal.dumps)

    @staticmethod
    def loads(data):
        started = time.process_time()
        try:
            return marshal.loads(data)
        finally:
            count("reading bytecode", started)


def instrument(log_path, profile_dir):
    from ansible._internal._templating import _jinja_plugins  # pylint: disable=import-outside-toplevel  # ansible-core 2.19+

    counted(_jinja_plugins, "_invoke_lookup", "lookup (load and run)")
    counted(plugin_loader.PluginLoader, "_load_module_source", "module loading")
    counted(plugin_loader.PluginLoader, "_load_config_defs", "option definitions")
    counted(plugin_loader.PluginLoader, "find_plugin_with_context", "finding the plugin")
    counted(_collection_finder._AnsibleCollectionPkgLoaderBase, "get_code", "compiling from source")  # pylint: disable=protected-access
    bootstrap_external.marshal = CountedMarshal
    collector = {}

    def on_collection(phase, _info):
        if phase == "start":
            collector["started"] = time.process_time()
        else:
            count("garbage collection", collector["started"])

    gc.callbacks.append(on_collection)
    load_module_source = plugin_loader.PluginLoader._load_module_source  # pylint: disable=protected-access

    def load_and_count_actions(self, *args, **kwargs):
        module = load_module_source(self, *args, **kwargs)
        action = getattr(module, "ActionModule", None)
        if module.__name__.startswith("ansible_collections.identity.entra.") and action and not hasattr(action, "_counted"):
            counted(action, "run", "action run")
            action._counted = True  # pylint: disable=protected-access
        return module

    plugin_loader.PluginLoader._load_module_source = load_and_count_actions  # pylint: disable=protected-access
    run = worker.WorkerProcess._run  # pylint: disable=protected-access

    def measured_run(self):
        COUNTERS.clear()
        profile = cProfile.Profile() if profile_dir else None
        started = time.process_time()
        try:
            return profile.runcall(run, self) if profile else run(self)
        finally:
            count("worker", started)
            if profile:
                profile.dump_stats(os.path.join(profile_dir, "%d.prof" % os.getpid()))
            fd = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            os.write(fd, (json.dumps(COUNTERS) + "\n").encode())
            os.close(fd)

    worker.WorkerProcess._run = measured_run  # pylint: disable=protected-access


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--cprofile", metavar="DIR", help="also write a cProfile of every worker into DIR")
    parser.add_argument("playbook_args", nargs=argparse.REMAINDER, help="-- then ansible-playbook's arguments")
    args = parser.parse_args()
    playbook_args = args.playbook_args[1:] if args.playbook_args[:1] == ["--"] else args.playbook_args
    if args.cprofile:
        os.makedirs(args.cprofile, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        log_path = os.path.join(tmp, "workers.jsonl")
        instrument(log_path, args.cprofile)
        from ansible.cli.playbook import main as playbook  # pylint: disable=import-outside-toplevel

        sys.argv = ["ansible-playbook"] + playbook_args
        try:
            status = playbook()
        except SystemExit as exc:
            status = exc.code
        with open(log_path, encoding="utf-8") as handle:
            workers = [json.loads(line) for line in handle]
    names = sorted({name for counters in workers for name in counters}, key=lambda n: -statistics.median(c.get(n, 0) for c in workers))
    print("%d workers; median CPU time per worker:" % len(workers), file=sys.stderr)
    for name in names:
        print("  %-24s %7.2f ms" % (name, statistics.median(c.get(name, 0.0) for c in workers) * 1e3), file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main())
