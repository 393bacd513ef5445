// Seed chapter, section 9.1, "async 内でのブロッキング呼び出し": its cpu_heavy function.
// OK: CPU集中処理は spawn_blocking で逃がす
async fn cpu_heavy() {
    let result = tokio::task::spawn_blocking(|| {
        // 重い同期計算
        (0..10_000_000u64).sum::<u64>()
    }).await.unwrap();
    println!("結果: {}", result);
}

// main added: the chapter shows only the function
#[tokio::main]
async fn main() {
    cpu_heavy().await;
}
