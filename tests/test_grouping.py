"""``make test`` runs two pytest-xdist workers with ``--dist loadgroup``; tests/conftest.py
puts each file's tests in one group and the tiny study's readers in another. This checks that
the grouping takes effect, not just that the marks are there: with pytest 9.2 and xdist 3.8
the marks were set and silently ignored (pytest-xdist#1386), and module fixtures were built
once per worker."""


def test_a_test_is_in_its_files_group(request):
    groups = [mark.args[0] for mark in request.node.iter_markers("xdist_group")]
    assert groups == ["tests/test_grouping.py"]


def test_under_loadgroup_the_scheduler_sees_the_group(request):
    groups = [mark.args[0] for mark in request.node.iter_markers("xdist_group")]
    if getattr(request.config.option, "loadgroup", False):  # on a worker of make test
        # xdist's scheduler reads the group from this suffix of the id it is sent
        assert request.node.nodeid.endswith("@" + groups[0]), request.node.nodeid
    else:  # a plain run: there is no scheduler, and the id is the file's own
        assert request.node.nodeid.endswith("::test_under_loadgroup_the_scheduler_sees_the_group")
