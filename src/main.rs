fn main() {
    std::process::exit(mha_cv::cli::main());
}
