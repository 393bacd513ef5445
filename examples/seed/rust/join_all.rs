// Seed chapter, section 4.4, "join_all と try_join_all".
use futures::future::{join_all, try_join_all};
use anyhow::Result;

async fn fetch_item(id: u32) -> Result<String> {
    tokio::time::sleep(tokio::time::Duration::from_millis(id as u64 * 10)).await;
    if id == 5 {
        anyhow::bail!("アイテム5の取得に失敗");
    }
    Ok(format!("Item#{}", id))
}

#[tokio::main]
async fn main() -> Result<()> {
    // join_all — 全 Future の結果を Vec で取得 (エラーも含む)
    let futures: Vec<_> = (1..=10).map(|id| fetch_item(id)).collect();
    let results: Vec<Result<String>> = join_all(futures).await;

    for (i, result) in results.iter().enumerate() {
        match result {
            Ok(item) => println!("[{}] {}", i, item),
            Err(e) => eprintln!("[{}] エラー: {}", i, e),
        }
    }

    // try_join_all — いずれかがエラーなら即座にエラーを返す
    let futures: Vec<_> = (1..=3).map(|id| fetch_item(id)).collect();
    let results: Vec<String> = try_join_all(futures).await?;
    println!("全成功: {:?}", results);

    Ok(())
}
