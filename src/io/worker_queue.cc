#include "io/worker_queue.h"

#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "common/clock.h"
#include "io/sync_queue.h"

namespace iodepth {

namespace {

constexpr uint32_t kMaxWorkerThreads = 256;
constexpr uint32_t kDefaultMaxWorkerThreads = 64;
// Sizing to the load: every kSampleEvery-th request of each worker is watched (its
// thread's voluntary context switches around it: one system call before, one after), and
// every kSamplesPerResize samples the number of workers allowed to run at once is set
// again (WorkersForLoad).
constexpr uint32_t kSampleEvery = 8;
constexpr uint32_t kSamplesPerResize = 32;

// The calling thread's voluntary context switches: it blocked (slept in the kernel), as a
// read waiting for a device does and a copy from memory does not.
int64_t ThreadVoluntarySwitches() {
  rusage usage{};
  getrusage(RUSAGE_THREAD, &usage);
  return usage.ru_nvcsw;
}

struct Job {
  IoRequest request;
  int64_t submitted_ns = 0;
};

class WorkerQueue final : public IoQueue {
 public:
  // `sized`: the number allowed to run at once follows the load (WorkersForLoad); else all
  // `threads` run.
  WorkerQueue(uint32_t depth, uint32_t threads, bool sized)
      : IoQueue(depth), sized_(sized), cpus_(UsableCpus()), thread_count_(threads), active_limit_(threads) {
    prepared_jobs_.reserve(depth);
    done_.reserve(depth);
    threads_.reserve(threads);
    for (uint32_t i = 0; i < threads; ++i) threads_.emplace_back([this] { WorkerLoop(); });
  }

  ~WorkerQueue() override {
    std::unique_lock lock(mutex_);
    // Wait for everything submitted to finish: the callers' buffers must outlive it.
    idle_cv_.wait(lock, [this] { return todo_.empty() && running_ == 0; });
    stop_ = true;
    lock.unlock();
    work_cv_.notify_all();
    for (std::thread& thread : threads_) thread.join();
  }

  std::string_view backend_name() const override { return "worker"; }
  std::string features() const override {
    if (!sized_) return fmt::format("threads={}", threads_.size());
    std::lock_guard lock(mutex_);
    return fmt::format("threads={} (sized to the load: {} running at most now)", threads_.size(), active_limit_);
  }

 protected:
  Status DoPrepare(const IoRequest& request) override {
    prepared_jobs_.push_back(Job{request, 0});
    return Status::OK();
  }

  Result<uint32_t> DoSubmit(int64_t now_ns) override {
    const auto count = static_cast<uint32_t>(prepared_jobs_.size());
    uint32_t wake = 0;
    {
      std::lock_guard lock(mutex_);
      for (Job& job : prepared_jobs_) {
        job.submitted_ns = now_ns;
        todo_.push_back(job);
      }
      // Only sleeping workers need a wake-up, one per job and only as many as may run: a
      // busy worker takes the next job itself when it finishes its own.
      const uint32_t room = active_limit_ > running_ ? active_limit_ - running_ : 0;
      wake = std::min({count, sleeping_, room});
    }
    prepared_jobs_.clear();
    for (uint32_t i = 0; i < wake; ++i) work_cv_.notify_one();
    return count;
  }

  Result<uint32_t> DoReap(std::span<IoCompletion> out, uint32_t min_completions, int64_t deadline_ns) override {
    std::unique_lock lock(mutex_);
    auto enough = [&] { return done_.size() >= min_completions; };
    if (!enough()) {
      // Workers wake the owner only once the completions it waits for are there, not on
      // every completion (a wake-up is a context switch on each side).
      reap_wanted_ = min_completions;
      if (deadline_ns < 0) {
        done_cv_.wait(lock, enough);
      } else {
        const auto wait_ns = std::chrono::nanoseconds(std::max<int64_t>(0, deadline_ns - NowNs()));
        done_cv_.wait_for(lock, wait_ns, enough);
      }
      reap_wanted_ = 0;
    }
    const size_t count = std::min(out.size(), done_.size());
    std::move(done_.begin(), done_.begin() + static_cast<std::ptrdiff_t>(count), out.begin());
    done_.erase(done_.begin(), done_.begin() + static_cast<std::ptrdiff_t>(count));
    return static_cast<uint32_t>(count);
  }

 private:
  void WorkerLoop() {
    pthread_setname_np(pthread_self(), "iodepth-worker");
    uint64_t jobs_run = 0;
    std::unique_lock lock(mutex_);
    for (;;) {
      auto may_run = [this] { return stop_ || (!todo_.empty() && running_ < active_limit_); };
      if (!may_run()) {
        ++sleeping_;
        work_cv_.wait(lock, may_run);
        --sleeping_;
      }
      if (todo_.empty()) return;  // stop_ and nothing left.
      const Job job = todo_.front();
      todo_.pop_front();
      ++running_;
      lock.unlock();
      const bool watched = sized_ && ++jobs_run % kSampleEvery == 0;
      const int64_t switches_before = watched ? ThreadVoluntarySwitches() : 0;
      IoCompletion done = RunRequestBlocking(job.request, job.submitted_ns);
      const bool blocked = watched && ThreadVoluntarySwitches() != switches_before;
      lock.lock();
      --running_;
      if (watched) NoteSample(blocked);
      done_.push_back(std::move(done));
      if (reap_wanted_ != 0 && done_.size() >= reap_wanted_) done_cv_.notify_one();
      if (todo_.empty() && running_ == 0) idle_cv_.notify_all();
    }
  }

  // Called with mutex_ held: one watched request. Every kSamplesPerResize samples the
  // limit is set again, and workers it newly allows are woken.
  void NoteSample(bool blocked) {
    if (blocked) ++samples_blocked_;
    if (++samples_ < kSamplesPerResize) return;
    const uint32_t before = active_limit_;
    active_limit_ = WorkersForLoad(static_cast<double>(samples_blocked_) / samples_, cpus_, thread_count_);
    samples_ = samples_blocked_ = 0;
    if (active_limit_ > before) work_cv_.notify_all();
  }

  static uint32_t UsableCpus() {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof(set), &set) == 0) return static_cast<uint32_t>(std::max(1, CPU_COUNT(&set)));
    return std::max(1u, std::thread::hardware_concurrency());
  }

  const bool sized_;
  const uint32_t cpus_;
  const uint32_t thread_count_;     // threads_.size(), which workers may read while it fills.
  std::vector<Job> prepared_jobs_;  // Owner thread only.
  std::vector<std::thread> threads_;

  mutable std::mutex mutex_;
  std::condition_variable work_cv_;  // todo_ gained a job, or stop_.
  std::condition_variable done_cv_;  // done_ gained a completion.
  std::condition_variable idle_cv_;  // Nothing queued or running.
  std::deque<Job> todo_;             // GUARDED_BY(mutex_)
  std::vector<IoCompletion> done_;   // GUARDED_BY(mutex_)
  uint32_t running_ = 0;             // GUARDED_BY(mutex_)
  uint32_t sleeping_ = 0;            // GUARDED_BY(mutex_): workers waiting for a job.
  uint32_t reap_wanted_ = 0;         // GUARDED_BY(mutex_): completions the waiting owner needs; 0: not waiting.
  uint32_t active_limit_;            // GUARDED_BY(mutex_): workers allowed to run a request at once.
  uint32_t samples_ = 0;             // GUARDED_BY(mutex_): watched requests since the last resize,
  uint32_t samples_blocked_ = 0;     // GUARDED_BY(mutex_): and those whose thread blocked.
  bool stop_ = false;                // GUARDED_BY(mutex_)
};

}  // namespace

uint32_t WorkersForLoad(double blocked_share, uint32_t cpus, uint32_t threads) {
  // A request that never blocks (a copy from the page cache or zram) keeps its thread on
  // the CPU: more threads than CPUs gain nothing and each extra one costs wake-ups. A
  // request that blocks in the device needs a thread for every request to keep in flight.
  // Between the two, in proportion to the share of requests that blocked.
  const double low = std::min(std::max(cpus, 1u), std::max(threads, 1u));
  const double high = std::max(threads, 1u);
  const double share = std::clamp(blocked_share, 0.0, 1.0);
  return static_cast<uint32_t>(std::ceil(low + share * (high - low)));
}

Result<std::unique_ptr<IoQueue>> MakeWorkerQueue(const IoQueueOptions& options) {
  const bool sized = options.worker_threads == 0;
  uint32_t threads = options.worker_threads;
  if (threads == 0) threads = std::min(options.depth, kDefaultMaxWorkerThreads);
  if (threads > kMaxWorkerThreads) {
    return Status::InvalidArgument(
        fmt::format("{} worker threads is more than the limit of {}; choose fewer", threads, kMaxWorkerThreads));
  }
  return std::unique_ptr<IoQueue>(new WorkerQueue(options.depth, threads, sized));
}

}  // namespace iodepth
