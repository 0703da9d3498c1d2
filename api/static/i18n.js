// Words and number formats of the wall, in Vietnamese (default) and English.
// KPI labels come from /api/v1/catalog and each source's words from /api/v1/wall; the words
// around them live here.

export const TZ = "Asia/Ho_Chi_Minh";
const LANG_KEY = "ioc.wall.lang";
const LOCALES = { vi: "vi-VN", en: "en-GB" };

const STRINGS = {
  vi: {
    title: "Trung tâm điều hành thông minh",
    switchTo: "English",
    windowNote: "1 giờ qua",
    stateNote: "hiện tại",
    noData: "không có dữ liệu",
    "conn.connecting": "Đang kết nối…",
    "conn.live": "Trực tiếp",
    "conn.reconnecting": "Mất kết nối",
    "conn.degraded": "Không trực tiếp",
    "why.database": "Mất kết nối cơ sở dữ liệu",
    "why.broker": "Mất kết nối máy chủ sự kiện",
    "why.api": "Máy chủ không phản hồi",
    "why.old": "Số liệu không được cập nhật",
    figuresFrom: "— số liệu {age}",
    retryIn: "đang kết nối lại sau {n} giây",
    retryNow: "đang kết nối lại…",
    shownAsOf: "số liệu lúc {t}",
    updatedAt: "cập nhật {t}",
    noAlerts: "Không có cảnh báo",
    "alertCount.other": "{n} cảnh báo",
    moreAlerts: "+{n} khác",
    since: "từ {t}",
    silenced: "đã tắt thông báo",
    acked: "đã xác nhận: {name}",
    escalated: "đã chuyển cấp trên",
    "btn.ack": "Xác nhận",
    "btn.unack": "Bỏ xác nhận",
    "btn.silence": "Tắt báo",
    "act.ack": "Xác nhận cảnh báo",
    "act.unack": "Bỏ xác nhận cảnh báo",
    "act.silence": "Tắt thông báo cảnh báo",
    "act.comment": "Ghi chú",
    "act.duration": "Thời gian tắt",
    "act.1h": "1 giờ",
    "act.4h": "4 giờ",
    "act.1d": "1 ngày",
    "act.cancel": "Hủy",
    "act.ok": "Đồng ý",
    "act.default.ack": "Đã tiếp nhận ({name})",
    "act.default.unack": "",
    "act.default.silence": "Tắt từ màn hình điều hành ({name})",
    "signIn.title": "Đăng nhập",
    "signIn.token": "Mã truy cập (token)",
    "signIn.hint": "Mã chỉ được giữ trong phiên trình duyệt này.",
    "signIn.submit": "Đăng nhập",
    "signIn.refused": "Mã không hợp lệ, vui lòng nhập lại.",
    signOut: "Đăng xuất",
    "scope.all": "toàn tỉnh",
    "role.viewer": "Xem",
    "role.operator": "Trực ban",
    "role.admin": "Quản trị",
    "sev.critical": "Nghiêm trọng",
    "sev.warning": "Cảnh báo",
    "sev.info": "Thông tin",
    trendTitle: "6 giờ · mỗi 5 phút",
    worstFirst: "kém nhất trước",
    newest: "sự kiện mới nhất",
    lag: "hàng đợi {n}",
    lagUnknown: "hàng đợi —",
    accepted5m: "5 phút: {n}",
    rejected5m: "{n} lỗi",
    stale: "Dữ liệu cũ",
    quiet: "Ngoài giờ",
    neverSeen: "chưa có sự kiện",
    "ago.s": "{n} giây trước",
    "ago.m": "{n} phút trước",
    "ago.h": "{n} giờ trước",
    "ago.d": "{n} ngày trước",
    "dim.unknown": "Không rõ",
    "dim.PROVINCE": "Cấp tỉnh",
    "level.province": "Cấp tỉnh",
    "level.department": "Sở, ngành",
    "level.district": "Cấp huyện",
    "level.commune": "Cấp xã",
    serviceLevel: "Mức {n}",
    "unit.hours": "giờ",
    "vnd.million": "tr",
    "vnd.billion": "tỷ",
  },
  en: {
    title: "Intelligent Operations Centre",
    switchTo: "Tiếng Việt",
    windowNote: "last hour",
    stateNote: "now",
    noData: "no data",
    "conn.connecting": "Connecting…",
    "conn.live": "Live",
    "conn.reconnecting": "Disconnected",
    "conn.degraded": "Not live",
    "why.database": "Database unreachable",
    "why.broker": "Event broker unreachable",
    "why.api": "Server not answering",
    "why.old": "Figures not updating",
    figuresFrom: "— figures from {age}",
    retryIn: "reconnecting in {n} s",
    retryNow: "reconnecting…",
    shownAsOf: "figures as of {t}",
    updatedAt: "updated {t}",
    noAlerts: "No alerts firing",
    "alertCount.one": "{n} alert",
    "alertCount.other": "{n} alerts",
    moreAlerts: "+{n} more",
    since: "since {t}",
    silenced: "silenced",
    acked: "acknowledged: {name}",
    escalated: "escalated",
    "btn.ack": "Acknowledge",
    "btn.unack": "Unacknowledge",
    "btn.silence": "Silence",
    "act.ack": "Acknowledge the alert",
    "act.unack": "Take back the acknowledgement",
    "act.silence": "Silence the alert",
    "act.comment": "Comment",
    "act.duration": "Silence for",
    "act.1h": "1 hour",
    "act.4h": "4 hours",
    "act.1d": "1 day",
    "act.cancel": "Cancel",
    "act.ok": "OK",
    "act.default.ack": "On it ({name})",
    "act.default.unack": "",
    "act.default.silence": "Silenced from the operations wall ({name})",
    "signIn.title": "Sign in",
    "signIn.token": "Access token",
    "signIn.hint": "The token is kept for this browser session only.",
    "signIn.submit": "Sign in",
    "signIn.refused": "That token was not accepted; try again.",
    signOut: "Sign out",
    "scope.all": "whole province",
    "role.viewer": "Viewer",
    "role.operator": "Operator",
    "role.admin": "Admin",
    "sev.critical": "Critical",
    "sev.warning": "Warning",
    "sev.info": "Info",
    trendTitle: "6 h · 5-min steps",
    worstFirst: "worst first",
    newest: "newest event",
    lag: "lag {n}",
    lagUnknown: "lag —",
    accepted5m: "5 min: {n}",
    rejected5m: "{n} rejected",
    stale: "Stale",
    quiet: "Quiet hours",
    neverSeen: "no events yet",
    "ago.s": "{n} s ago",
    "ago.m": "{n} min ago",
    "ago.h": "{n} h ago",
    "ago.d": "{n} d ago",
    "dim.unknown": "Unknown",
    "dim.PROVINCE": "Province level",
    "level.province": "Province",
    "level.department": "Department",
    "level.district": "District",
    "level.commune": "Commune",
    serviceLevel: "Level {n}",
    "unit.hours": "h",
    "vnd.million": "M",
    "vnd.billion": "B",
  },
};

let lang = readLang();

/** Names of breakdown values (registry places: districts, agencies, markets, ...), by dimension
 * and code: {district: {YEN_SON: ["Huyện Yên Sơn", "Yen Son District"]}}, from api/v1/dimensions. */
const NAMES = {};

function readLang() {
  try {
    const saved = localStorage.getItem(LANG_KEY);
    return saved in STRINGS ? saved : "vi";
  } catch {
    return "vi";
  }
}

export function currentLang() {
  return lang;
}

export function setLang(next) {
  lang = next in STRINGS ? next : "vi";
  try {
    localStorage.setItem(LANG_KEY, lang);
  } catch {
    // private mode or storage full: the choice lasts until the page reloads
  }
  document.documentElement.lang = lang;
}

export function locale() {
  return LOCALES[lang];
}

/** Words the API declares (areas, topics and breakdowns of each source: api/v1/wall). */
export function addWords(language, words) {
  if (language in STRINGS) Object.assign(STRINGS[language], words);
}

/** Names of a dimension's values ({code: [vi, en]}), from api/v1/dimensions/{name}. */
export function addNames(dimension, names) {
  NAMES[dimension] = { ...NAMES[dimension], ...names };
}

/** A word of the wall, with {placeholders} filled in. */
export function t(key, params = {}) {
  const text = STRINGS[lang][key] ?? STRINGS.vi[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => String(params[name] ?? ""));
}

/** A word that agrees with the number `n` ("1 alert", "2 alerts"). */
export function plural(key, n) {
  const form = new Intl.PluralRules(locale()).select(n);
  const chosen = `${key}.${form}` in STRINGS[lang] ? `${key}.${form}` : `${key}.other`;
  return t(chosen, { n: number(n, { maximumFractionDigits: 0 }) });
}

/** A KPI's label from its catalog entry. */
export function kpiLabel(entry) {
  if (!entry) return "";
  return lang === "en" ? entry.label_en : entry.label_vi;
}

/** Rules may carry "tiếng Việt / English" annotations: show the half of the current language. */
export function pickLanguage(text) {
  const parts = (text ?? "").split(" / ");
  if (parts.length !== 2) return text ?? "";
  return lang === "en" ? parts[1] : parts[0];
}

function number(value, options) {
  return new Intl.NumberFormat(locale(), options).format(value);
}

export function isMissing(value) {
  return value === null || value === undefined || Number.isNaN(value);
}

/** A KPI value as the wall shows it; null ("no data") is a dash, never 0. */
export function formatValue(unit, value) {
  if (isMissing(value)) return "—";
  switch (unit) {
    case "percent":
      return number(value, { minimumFractionDigits: 1, maximumFractionDigits: 1 });
    case "ms":
    case "hours":
      return number(value, { maximumFractionDigits: Math.abs(value) < 10 ? 1 : 0 });
    case "vnd":
      return formatVnd(value);
    case "score":
      return number(value, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
    default:
      return number(value, { maximumFractionDigits: 0 });
  }
}

/**
 * Đồng, compact from a million up, the same way in every tile, ranking and axis: "49.500",
 * "12,4 tr", "1,2 tỷ" (Vietnamese) or "49,500", "12.4M", "1.2B" (English); the unit (₫) is
 * added by the caller.
 */
function formatVnd(value) {
  const size = Math.abs(value);
  // 999,7 million reads "1 tỷ", never "1.000 tr"
  const [scale, word] = size >= 999.5e6 ? [1e9, "vnd.billion"] : size >= 1e6 ? [1e6, "vnd.million"] : [1, ""];
  if (scale === 1) return number(value, { maximumFractionDigits: 0 });
  const scaled = value / scale;
  const digits = Math.abs(scaled) < 100 ? 1 : 0;
  const text = number(scaled, { maximumFractionDigits: digits });
  return lang === "en" ? `${text}${t(word)}` : `${text} ${t(word)}`;
}

/** An axis tick: as few decimals as the axis' span needs, no unit (đồng: compact). */
export function formatTick(value, span, unit) {
  if (unit === "vnd" && Math.abs(value) >= 1e6) return formatVnd(value);
  return number(value, { maximumFractionDigits: span >= 10 ? 0 : span >= 1 ? 1 : 2 });
}

export function formatCount(value) {
  return isMissing(value) ? "—" : number(value, { maximumFractionDigits: 0 });
}

export function unitText(unit) {
  switch (unit) {
    case "percent":
      return "%";
    case "ms":
      return "ms";
    case "hours":
      return t("unit.hours");
    case "vnd":
      return "₫";
    case "score":
      return "/5";
    default:
      return "";
  }
}

/** A value with its unit ("98,6 %"), or a dash alone. */
export function withUnit(unit, value) {
  return isMissing(value) ? "—" : `${formatValue(unit, value)} ${unitText(unit)}`.trim();
}

/** Time of day in the province, e.g. 14:05:09 (or 14:05 without seconds). */
export function formatTime(ms, withSeconds = true) {
  return new Intl.DateTimeFormat(locale(), {
    timeZone: TZ,
    hour: "2-digit",
    minute: "2-digit",
    second: withSeconds ? "2-digit" : undefined,
    hourCycle: "h23",
  }).format(new Date(ms));
}

export function formatDate(ms) {
  return new Intl.DateTimeFormat(locale(), {
    timeZone: TZ,
    weekday: "long",
    day: "numeric",
    month: lang === "en" ? "long" : "2-digit",
    year: "numeric",
  }).format(new Date(ms));
}

/** "12 s ago", "5 min ago", ...: how old an event time is. */
export function formatAge(ageMs) {
  const seconds = Math.max(0, Math.round(ageMs / 1000));
  if (seconds < 60) return t("ago.s", { n: seconds });
  if (seconds < 3600) return t("ago.m", { n: Math.floor(seconds / 60) });
  if (seconds < 86400) return t("ago.h", { n: Math.floor(seconds / 3600) });
  return t("ago.d", { n: Math.floor(seconds / 86400) });
}

function titleCase(code) {
  return code
    .toLowerCase()
    .split("_")
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join(" ");
}

/** A breakdown value (a registry code) as a readable name: the registry's, when it has one. */
export function dimensionName(by, code) {
  if (code === "unknown") return t("dim.unknown");
  const named = NAMES[by]?.[code];
  if (named) return (lang === "en" ? named[1] : named[0]) || named[0];
  switch (by) {
    case "district":
      return code === "PROVINCE" ? t("dim.PROVINCE") : titleCase(code);
    case "site_level":
      return t(`level.${code}`);
    case "service_level":
      return t("serviceLevel", { n: code });
    default:
      return code.replaceAll("_", " ");
  }
}
