// git: which commit a build came from, read from the checkout's files (HEAD, loose refs,
// packed-refs) without running git. Any thread.
#pragma once

#include <string>

namespace iodepth {

// The commit checked out in the nearest git work tree at or above `start_dir`: HEAD
// resolved through loose refs and packed-refs (and a worktree's or submodule's "gitdir:"
// file), as a full hex hash. "unknown" when there is no work tree or HEAD cannot be
// resolved (unborn branch, reftable storage). It says nothing of uncommitted changes.
std::string FindGitCommit(const std::string& start_dir);

// FindGitCommit of the directory holding this process's executable (/proc/self/exe): the
// checkout the binary was built in, whatever the working directory.
std::string GitCommitOfExecutable();

}  // namespace iodepth
