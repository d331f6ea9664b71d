"""Tests of the fio/ package: /usr/bin/python3 -m unittest discover -s fio/tests -t . -p "*_test.py"."""
