"""A stand-in for proxymod (IMMM-SFA/proxymod) for the dispatcher's tests.

It behaves as the dispatcher's documentation of proxymod describes (Prox, advance, close,
the log lines, the output files) so that the whole pipeline runs with real Python processes.
It reads the INI with configparser instead of configobj (not installable here). One
addition for tests: PROXYMOD_SLEEP_SCALE (default 1) scales the PROJECT.runtime sleep.
"""

import configparser
import csv
import datetime
import logging
import math
import os
import time

__all__ = ["Prox"]


class Prox:
    def __init__(self, config, model_name, start_yr=None, end_yr=None, step=None,
                 target_yr=None, in_one=None, in_two=None):
        cp = configparser.ConfigParser(interpolation=None)
        cp.optionxform = str
        if not cp.read(config):
            raise FileNotFoundError("configuration file not found: %s" % config)
        self.model_name = model_name
        out_dir = cp.get("OUTPUTS", "out_dir")
        os.makedirs(out_dir, exist_ok=True)
        self.out_dir = os.path.join(out_dir, model_name + "_outputs")
        os.makedirs(self.out_dir, exist_ok=True)

        runtime = int(cp.get("PROJECT", "runtime"))
        if runtime <= 0:
            raise ValueError("PROJECT.runtime must be a whole number of seconds > 0")
        failure = int(cp.get("PROJECT", "failure"))
        if failure not in (0, 1):
            raise ValueError("PROJECT.failure must be 0 or 1")

        if cp.has_section("INPUTS"):
            in_dir = cp.get("INPUTS", "in_dir")
            in_file_one = cp.get("INPUTS", "in_file_one")
            in_file_two = cp.get("INPUTS", "in_file_two")
        elif in_one is not None and in_two is not None:
            in_dir, in_file_one, in_file_two = None, None, None
        else:
            raise ValueError("INPUTS missing and in_one, in_two not given")
        self.in_one = in_one if in_one is not None else os.path.join(in_dir, in_file_one)
        self.in_two = in_two if in_two is not None else os.path.join(in_dir, in_file_two)

        stamp = datetime.datetime.now().strftime("%Y-%m-%d_%Hh%Mm%Ss")
        self.logger = logging.getLogger("proxymod_logger_" + model_name)
        self.logger.setLevel(logging.INFO)
        self.logger.handlers = []
        fmt = logging.Formatter("%(asctime)s - %(name)s - %(levelname)s - %(message)s")
        self._file = logging.FileHandler(os.path.join(self.out_dir, "%s_%s.log" % (model_name, stamp)))
        console = logging.StreamHandler(stream=__import__("sys").stdout)
        for h in (self._file, console):
            h.setFormatter(fmt)
            self.logger.addHandler(h)
        self.logger.info("Starting %s", model_name)
        for name, value in (("in_dir", in_dir), ("in_file_one", in_file_one), ("in_file_two", in_file_two),
                            ("model_name", model_name), ("out_dir", out_dir)):
            self.logger.info("CONFIG: [PARAMETER] %s -- [VALUE] %s", name, value)

        time.sleep(runtime * float(os.environ.get("PROXYMOD_SLEEP_SCALE", "1")))
        if failure == 1:
            self.logger.error("You raised an error on purpose.")
            raise RuntimeError("You raised an error on purpose.")

        if target_yr is not None:
            self.years = [int(target_yr)]
            self.years_label = str(target_yr)
        else:
            self.years = list(range(start_yr, end_yr + step, step))
            self.years_label = "%d_%d" % (start_yr, end_yr)
        self.one = self._read(self.in_one)
        self.two = self._read(self.in_two)
        self.current = self.years[0]
        self.step = step
        self.out_file_1 = os.path.join(self.out_dir, "output1_%s_%s.csv" % (model_name, self.years_label))
        self.out_file_2 = os.path.join(self.out_dir, "output2_%s_%s.csv" % (model_name, self.years_label))

    def _read(self, path):
        with open(path, newline="") as f:
            rows = list(csv.reader(f))
        if not rows or [c.strip() for c in rows[0]] != ["year", "value"]:
            raise ValueError("%s: want a year,value header" % path)
        series = {}
        for row in rows[1:]:
            if not row:
                continue
            year = int(row[0])
            if year in self.years:
                series[year] = float(row[1])
        return series

    def advance(self):
        year = self.current
        for series in (self.one, self.two):
            if year in series:
                series[year] = math.sqrt(series[year])
        self._write(self.out_file_1, self.one)
        self._write(self.out_file_2, self.two)
        if self.step:
            self.current = year + self.step

    @staticmethod
    def _write(path, series):
        with open(path, "w", newline="") as f:
            f.write("year,value\n")
            for year in sorted(series):
                f.write("%d,%s\n" % (year, repr(series[year])))

    def close(self):
        self.logger.info("Completed %s", self.model_name)
        self._file.close()
        self.logger.handlers = []
