
// ---- texts.js: what a reader reads, in Vietnamese (the default) and English ----
// dir: the writing direction of the language, set on the widget's box (never the host page's).
// A text with a number in it is one string (Vietnamese has one form) or a form for each plural
// category Intl.PluralRules gives for the locale ("one", "other"); see numbered().
var TEXT = {
  vi: {
    locale: "vi-VN",
    dir: "ltr",
    vote: "Bình chọn",
    sending: "Đang gửi…",
    people: "{n} người đã tham gia bình chọn",
    votes: "{n} phiếu",
    closed: "Bình chọn đã kết thúc",
    loading: "Đang tải bình chọn…",
    loadError: "Không tải được bình chọn. Vui lòng kiểm tra kết nối mạng.",
    voteError: "Chưa gửi được bình chọn. Vui lòng kiểm tra kết nối mạng rồi thử lại.",
    retry: "Thử lại",
    rate: "Bạn thao tác quá nhanh. Vui lòng đợi một lát rồi thử lại.",
    thanks: "Cảm ơn bạn đã tham gia bình chọn.",
    already: "Bạn đã bình chọn cho câu hỏi này.",
    pick: "Vui lòng chọn ít nhất một phương án.",
    max: "Chọn tối đa {n} phương án.",
    later: "Kết quả sẽ được công bố khi bình chọn kết thúc.",
    notOpen: "Bình chọn chưa bắt đầu.",
    gone: "Bình chọn này không còn tồn tại.",
    login: "Vui lòng đăng nhập để bình chọn."
  },
  en: {
    locale: "en-US",
    dir: "ltr",
    vote: "Vote",
    sending: "Sending…",
    people: { one: "{n} person has voted", other: "{n} people have voted" },
    votes: { one: "{n} vote", other: "{n} votes" },
    closed: "Voting has ended",
    loading: "Loading poll…",
    loadError: "The poll could not be loaded. Please check your connection.",
    voteError: "Your vote could not be sent. Please check your connection and try again.",
    retry: "Try again",
    rate: "Too many attempts. Please wait a moment and try again.",
    thanks: "Thank you for voting.",
    already: "You have already voted in this poll.",
    pick: "Please choose at least one option.",
    max: { one: "Choose up to {n} option.", other: "Choose up to {n} options." },
    later: "Results will be published when voting ends.",
    notOpen: "This poll has not opened yet.",
    gone: "This poll no longer exists.",
    login: "Please sign in to vote."
  }
};

// The text for the number n, the number written as the reader's locale writes it.
function numbered(ctx, forms, n) {
  var form = typeof forms === "string" ? forms : forms[ctx.plural.select(n)] || forms.other;
  return fill(form, ctx.number.format(n));
}
