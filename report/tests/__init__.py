"""The report package's tests (stdlib unittest). Run from the repository root:

    /usr/bin/python3 -m unittest discover -s report/tests -t . -p "*_test.py"
"""
