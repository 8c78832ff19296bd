"""Data the benchmarks seed with: agencies, Vietnamese report texts and streets of Huế (one copy
for bench/console.py, bench/public.py, bench/pipeline.py and bench/hotline_import.py)."""
from __future__ import annotations

AGENCIES = [
    {"id": "moi-truong", "name": "Công ty Môi trường đô thị Huế", "categories": ["environment"]},
    {"id": "so-xay-dung", "name": "Sở Xây dựng", "categories": ["construction_order"]},
    {"id": "giao-thong", "name": "Ban Quản lý hạ tầng giao thông", "categories": ["traffic_infrastructure"]},
    {"id": "do-thi", "name": "Phòng Quản lý đô thị", "categories": ["urban_infrastructure"]},
    {"id": "cong-an", "name": "Công an thành phố", "categories": ["public_order", "tourism", "public_service"]},
]
TEXTS = ["Ổ gà lớn giữa đường {street}, xe máy dễ ngã", "Rác thải ùn ứ nhiều ngày ở kiệt {n} {street}",
         "Đèn đường hỏng cả tuần trên đường {street}", "Lấn chiếm vỉa hè buôn bán trên đường {street}",
         "Karaoke ồn ào sau 23 giờ ở kiệt {n} {street}", "Nước thải chảy tràn ra đường {street}",
         "Cây xanh gãy đổ chắn lối đi ở {street}", "Xây dựng không phép tại số {n} {street}"]
STREETS = ["Lê Lợi", "Trần Hưng Đạo", "Hùng Vương", "Nguyễn Trãi", "Chi Lăng", "Lê Duẩn", "Kim Long",
           "Nguyễn Sinh Cung", "Điện Biên Phủ", "Bà Triệu", "Phan Đình Phùng", "Ngự Bình"]
CATEGORY_AGENCY = {c: a["id"] for a in AGENCIES for c in a["categories"]}

CALL_TEXTS = [
    "Rác thải sinh hoạt tồn đọng nhiều ngày tại kiệt {n} đường Trần Phú, bốc mùi hôi thối",
    "Đèn chiếu sáng trên đường Lê Lợi bị hỏng {n} bóng, ban đêm rất tối",
    "Mặt đường Hùng Vương có ổ gà lớn gần số nhà {n}, nguy hiểm cho xe máy",
    "Công trình xây dựng không phép tại số {n} Nguyễn Huệ, lấn chiếm vỉa hè",
    "Nhóm thanh niên tụ tập gây mất trật tự khuya tại công viên, lần thứ {n}",
    "Du khách phản ánh bị chặt chém giá xích lô tại khu vực Đại Nội, {n} nghìn đồng",
    "Cán bộ phường chậm giải quyết hồ sơ cấp phép, đã {n} ngày chưa có kết quả",
]
