#include "io/worker_queue.h"

#include <pthread.h>

#include <algorithm>
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

struct Job {
  IoRequest request;
  int64_t submitted_ns = 0;
};

class WorkerQueue final : public IoQueue {
 public:
  WorkerQueue(uint32_t depth, uint32_t threads) : IoQueue(depth) {
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
  std::string features() const override { return fmt::format("threads={}", threads_.size()); }

 protected:
  Status DoPrepare(const IoRequest& request) override {
    prepared_jobs_.push_back(Job{request, 0});
    return Status::OK();
  }

  Result<uint32_t> DoSubmit(int64_t now_ns) override {
    const auto count = static_cast<uint32_t>(prepared_jobs_.size());
    {
      std::lock_guard lock(mutex_);
      for (Job& job : prepared_jobs_) {
        job.submitted_ns = now_ns;
        todo_.push_back(job);
      }
    }
    prepared_jobs_.clear();
    if (count == 1) {
      work_cv_.notify_one();
    } else {
      work_cv_.notify_all();
    }
    return count;
  }

  Result<uint32_t> DoReap(std::span<IoCompletion> out, uint32_t min_completions, int64_t deadline_ns) override {
    std::unique_lock lock(mutex_);
    auto enough = [&] { return done_.size() >= min_completions; };
    if (deadline_ns < 0) {
      done_cv_.wait(lock, enough);
    } else {
      const auto wait_ns = std::chrono::nanoseconds(std::max<int64_t>(0, deadline_ns - NowNs()));
      done_cv_.wait_for(lock, wait_ns, enough);
    }
    const size_t count = std::min(out.size(), done_.size());
    std::move(done_.begin(), done_.begin() + static_cast<std::ptrdiff_t>(count), out.begin());
    done_.erase(done_.begin(), done_.begin() + static_cast<std::ptrdiff_t>(count));
    return static_cast<uint32_t>(count);
  }

 private:
  void WorkerLoop() {
    pthread_setname_np(pthread_self(), "iodepth-worker");
    std::unique_lock lock(mutex_);
    for (;;) {
      work_cv_.wait(lock, [this] { return stop_ || !todo_.empty(); });
      if (todo_.empty()) return;  // stop_ and nothing left.
      const Job job = todo_.front();
      todo_.pop_front();
      ++running_;
      lock.unlock();
      IoCompletion done = RunRequestBlocking(job.request, job.submitted_ns);
      lock.lock();
      --running_;
      done_.push_back(std::move(done));
      done_cv_.notify_one();
      if (todo_.empty() && running_ == 0) idle_cv_.notify_all();
    }
  }

  std::vector<Job> prepared_jobs_;  // Owner thread only.
  std::vector<std::thread> threads_;

  std::mutex mutex_;
  std::condition_variable work_cv_;  // todo_ gained a job, or stop_.
  std::condition_variable done_cv_;  // done_ gained a completion.
  std::condition_variable idle_cv_;  // Nothing queued or running.
  std::deque<Job> todo_;             // GUARDED_BY(mutex_)
  std::vector<IoCompletion> done_;   // GUARDED_BY(mutex_)
  uint32_t running_ = 0;             // GUARDED_BY(mutex_)
  bool stop_ = false;                // GUARDED_BY(mutex_)
};

}  // namespace

Result<std::unique_ptr<IoQueue>> MakeWorkerQueue(const IoQueueOptions& options) {
  uint32_t threads = options.worker_threads;
  if (threads == 0) threads = std::min(options.depth, kDefaultMaxWorkerThreads);
  if (threads > kMaxWorkerThreads) {
    return Status::InvalidArgument(
        fmt::format("{} worker threads is more than the limit of {}; choose fewer", threads, kMaxWorkerThreads));
  }
  return std::unique_ptr<IoQueue>(new WorkerQueue(options.depth, threads));
}

}  // namespace iodepth
