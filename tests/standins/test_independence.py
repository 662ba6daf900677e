"""The stand-ins stand apart from the application: they import none of it."""
import subprocess
import sys

from tests.processes import ROOT

MODULES = ("standins.server", "standins.fcm", "standins.sms_gateway", "standins.miniprogram",
           "standins.webhooks", "standins.chat_completions")
APPLICATION = ("api", "cli", "services", "models", "notifications", "assistant", "common",
               "config", "bench", "scripts")


def test_importing_every_stand_in_loads_nothing_of_the_application():
    code = ("import sys, importlib; [importlib.import_module(m) for m in sys.argv[1:]]; "
            "print(' '.join(sorted({n.split('.')[0] for n in sys.modules})))")
    loaded = subprocess.run([sys.executable, "-c", code, *MODULES], cwd=ROOT, check=True,
                            capture_output=True, text=True, timeout=60).stdout.split()

    assert not set(loaded) & set(APPLICATION)
