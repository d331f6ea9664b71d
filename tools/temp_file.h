// TempDataFile: the data file a command uses when the user named none. It lives in
// $IODEPTH_TMPDIR or /var/tmp (not /tmp, which is often tmpfs, where "disk" reads are
// memory copies) and is removed when the command ends, on Ctrl-C and on SIGTERM, so an
// interrupted run leaves no hundreds of MiB behind. One at a time per process.
#pragma once

#include <string>

namespace iodepth::tools {

class TempDataFile {
 public:
  // Uses `given` as is (and never removes it) when non-empty.
  TempDataFile(const std::string& given, const std::string& tag);
  TempDataFile(const TempDataFile&) = delete;
  TempDataFile& operator=(const TempDataFile&) = delete;
  ~TempDataFile();

  const std::string& path() const { return path_; }
  bool temporary() const { return temporary_; }
  void Keep() { keep_ = true; }

 private:
  std::string path_;
  bool temporary_ = false;
  bool keep_ = false;
};

// The command line as typed, for the results file.
void SetCommandLine(int argc, char** argv);
const std::string& CommandLine();

}  // namespace iodepth::tools
