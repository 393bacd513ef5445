// Seed chapter, section 2.4, "Waker の仕組み".
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

/// 値が設定されるまで待機する Future
struct SharedState {
    completed: bool,
    value: Option<String>,
    waker: Option<Waker>,
}

struct WaitForValue {
    shared: Arc<Mutex<SharedState>>,
}

impl Future for WaitForValue {
    type Output = String;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<String> {
        let mut state = self.shared.lock().unwrap();

        if state.completed {
            // 値が設定されていれば完了
            Poll::Ready(state.value.take().unwrap())
        } else {
            // Waker を保存して、値が設定された時に通知してもらう
            state.waker = Some(cx.waker().clone());
            Poll::Pending
        }
    }
}

/// 外部から値を設定して Waker を起動する
fn set_value(shared: &Arc<Mutex<SharedState>>, value: String) {
    let mut state = shared.lock().unwrap();
    state.value = Some(value);
    state.completed = true;
    // Waker が登録されていれば通知
    if let Some(waker) = state.waker.take() {
        waker.wake(); // Executor にタスクの再ポーリングを要求
    }
}

// main added: the chapter shows only the function
#[tokio::main]
async fn main() {
    let shared = Arc::new(Mutex::new(SharedState {
        completed: false,
        value: None,
        waker: None,
    }));
    let setter = shared.clone();
    std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(100));
        set_value(&setter, "外部スレッドからの値".to_string());
    });
    let value = WaitForValue { shared }.await;
    println!("受信: {}", value);
}
