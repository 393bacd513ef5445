// Seed chapter, section 4.3, "FutureExt による拡張メソッド".
use futures::FutureExt;
use tokio::time::{sleep, Duration};

#[tokio::main]
async fn main() {
    // fuse() — select! で安全に使うための変換
    let mut future_a = Box::pin(sleep(Duration::from_millis(100)).fuse());
    let mut future_b = Box::pin(sleep(Duration::from_millis(200)).fuse());

    // 両方が完了するまでループ
    let mut a_done = false;
    let mut b_done = false;

    while !a_done || !b_done {
        tokio::select! {
            _ = &mut future_a, if !a_done => {
                println!("A 完了");
                a_done = true;
            }
            _ = &mut future_b, if !b_done => {
                println!("B 完了");
                b_done = true;
            }
        }
    }

    // map() — Future の結果を変換
    let result = async { 42 }
        .map(|x| x * 2)
        .await;
    println!("結果: {}", result); // 84

    // then() — Future の結果から新しい Future を生成
    let result = async { 10 }
        .then(|x| async move {
            sleep(Duration::from_millis(10)).await;
            x + 5
        })
        .await;
    println!("結果: {}", result); // 15
}
